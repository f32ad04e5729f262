package io.tarq.layout.safetensors;

import io.tarq.layout.Layouts;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a mapped file: its name, dtype, shape, and the slice of the mapping that holds its bytes
 * (row-major, little-endian). No bytes are copied; every read goes through the FFM API's bounds and liveness checks,
 * so a view outliving its file throws {@link IllegalStateException} instead of reading unmapped memory.
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

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Extent of dimension {@code axis}. */
    public long dim(int axis) {
        return shape[axis];
    }

    /** Product of the shape (1 for a scalar). */
    public long elementCount() {
        long count = 1;
        for (long s : shape) {
            count *= s; // cannot overflow: the reader checked count × dtype size fits in a long
        }
        return count;
    }

    public long byteSize() {
        return data.byteSize();
    }

    /** The tensor's bytes: a read-only slice of the file mapping. */
    public MemorySegment segment() {
        return data;
    }

    /** Element {@code index} (flat, row-major) of an F32 tensor. */
    public float getFloat(long index) {
        requireDtype(DType.F32);
        return data.getAtIndex(Layouts.F32, index);
    }

    /** Element {@code index} (flat, row-major) of an I64 tensor. */
    public long getLong(long index) {
        requireDtype(DType.I64);
        return data.getAtIndex(Layouts.I64, index);
    }

    /** Element {@code index} (flat, row-major) of a U8 tensor, as 0..255. */
    public int getUnsignedByte(long index) {
        requireDtype(DType.U8);
        return Byte.toUnsignedInt(data.get(Layouts.U8, index));
    }

    /** A heap copy of an F32 tensor (for small tensors: weights, biases). */
    public float[] toFloatArray() {
        requireDtype(DType.F32);
        return data.toArray(Layouts.F32);
    }

    /** A heap copy of an I64 tensor. */
    public long[] toLongArray() {
        requireDtype(DType.I64);
        return data.toArray(Layouts.I64);
    }

    /** The shape as the header writes it, e.g. {@code [3, 1000]}. */
    public String shapeString() {
        return Arrays.toString(shape);
    }

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
