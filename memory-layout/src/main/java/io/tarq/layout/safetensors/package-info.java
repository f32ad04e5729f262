/**
 * The safetensors container: an 8-byte little-endian header length, a JSON header, then the tensors' bytes back to
 * back.
 *
 * <p>{@link io.tarq.layout.safetensors.SafetensorsFile} maps a file read-only and checks its header (every tensor's
 * dtype, shape and byte range, and that the tensors tile the data section) without reading a tensor byte;
 * {@link io.tarq.layout.safetensors.TensorView} reads one tensor in place through the FFM API.
 * {@link io.tarq.layout.safetensors.SafetensorsWriter} writes a file whose tensors are aligned for vector loads,
 * atomically. {@link io.tarq.layout.safetensors.DType} lists the format's element types. Nothing here knows TARQ:
 * that is {@code io.tarq.layout}.
 */
package io.tarq.layout.safetensors;
