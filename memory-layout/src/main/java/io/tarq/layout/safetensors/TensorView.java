package io.tarq.layout.safetensors;

import io.tarq.layout.Layouts;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a mapped file: its name, dtype, shape, and the slice of the mapping that holds its bytes
 * (row-major, little-endian). No bytes are copied; every read goes through the FFM API's bounds and liveness checks,
 * so a view outliving its file throws {@link IllegalStateException} instead of reading unmapped memory.
 *
 * <p>Immutable and thread-safe. The element getters allocate nothing.
 */
public final class TensorView {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final MemorySegment data;

    TensorView(String name, DType dtype, long[] shape, MemorySegment data) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data;
    }

    /**
     * Returns the tensor's name.
     *
     * @return the name, as in the header
     */
    public String name() {
        return name;
    }

    /**
     * Returns the tensor's element type.
     *
     * @return the dtype
     */
    public DType dtype() {
        return dtype;
    }

    /**
     * Returns the tensor's shape.
     *
     * @return a copy of the shape, outermost dimension first
     */
    public long[] shape() {
        return shape.clone();
    }

    /**
     * Returns the tensor's number of dimensions.
     *
     * @return the rank, 0 for a scalar
     */
    public int rank() {
        return shape.length;
    }

    /**
     * Returns the extent of one dimension.
     *
     * @param axis the dimension, 0 to {@link #rank()} − 1
     * @return its extent
     * @throws ArrayIndexOutOfBoundsException {@code axis} is out of range
     */
    public long dim(int axis) {
        return shape[axis];
    }

    /**
     * Returns the number of elements.
     *
     * @return the product of the shape (1 for a scalar)
     */
    public long elementCount() {
        long count = 1;
        for (long s : shape) {
            count *= s; // cannot overflow: the reader checked count × dtype size fits in a long
        }
        return count;
    }

    /**
     * Returns the size of the tensor's bytes.
     *
     * @return {@link #elementCount()} times the dtype's size
     */
    public long byteSize() {
        return data.byteSize();
    }

    /**
     * Returns the tensor's bytes, for bulk reads and kernels; read them little-endian ({@link Layouts}).
     *
     * @return a read-only slice of the file mapping, no copy
     */
    public MemorySegment segment() {
        return data;
    }

    /**
     * Reads one element of an F32 tensor.
     *
     * @param index the element's flat, row-major index
     * @return the element
     * @throws IllegalStateException     the tensor is not F32, or its file is closed
     * @throws IndexOutOfBoundsException {@code index} is outside the tensor
     */
    public float getFloat(long index) {
        requireDtype(DType.F32);
        return data.getAtIndex(Layouts.F32, index);
    }

    /**
     * Reads one element of an I64 tensor.
     *
     * @param index the element's flat, row-major index
     * @return the element
     * @throws IllegalStateException     the tensor is not I64, or its file is closed
     * @throws IndexOutOfBoundsException {@code index} is outside the tensor
     */
    public long getLong(long index) {
        requireDtype(DType.I64);
        return data.getAtIndex(Layouts.I64, index);
    }

    /**
     * Reads one element of a U8 tensor.
     *
     * @param index the element's flat, row-major index
     * @return the element, 0..255
     * @throws IllegalStateException     the tensor is not U8, or its file is closed
     * @throws IndexOutOfBoundsException {@code index} is outside the tensor
     */
    public int getUnsignedByte(long index) {
        requireDtype(DType.U8);
        return Byte.toUnsignedInt(data.get(Layouts.U8, index));
    }

    /**
     * Copies an F32 tensor to the heap (for small tensors: weights, biases).
     *
     * @return a new array of {@link #elementCount()} floats, row-major
     * @throws IllegalStateException the tensor is not F32, or its file is closed
     */
    public float[] toFloatArray() {
        requireDtype(DType.F32);
        return data.toArray(Layouts.F32);
    }

    /**
     * Copies an I64 tensor to the heap.
     *
     * @return a new array of {@link #elementCount()} longs, row-major
     * @throws IllegalStateException the tensor is not I64, or its file is closed
     */
    public long[] toLongArray() {
        requireDtype(DType.I64);
        return data.toArray(Layouts.I64);
    }

    /**
     * Formats the shape for messages.
     *
     * @return the shape as {@code [3, 1000]}
     */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    /**
     * Describes the tensor for messages.
     *
     * @return name, dtype and shape, e.g. {@code item.codes U8[3, 1000]}
     */
    @Override
    public String toString() {
        return name + " " + dtype + shapeString();
    }

    private void requireDtype(DType expected) {
        if (dtype != expected) {
            throw new IllegalStateException("tensor " + name + " is " + dtype + ", not " + expected);
        }
    }
}
