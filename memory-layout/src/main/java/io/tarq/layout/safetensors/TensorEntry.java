package io.tarq.layout.safetensors;

/** One tensor as the header describes it: byte range {@code [begin, end)} relative to the data section. */
record TensorEntry(String name, DType dtype, long[] shape, long begin, long end) {
}
