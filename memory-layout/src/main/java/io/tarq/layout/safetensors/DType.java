package io.tarq.layout.safetensors;

import java.util.Optional;

/** The element types of the safetensors format, with their size in bytes and their name in the header. */
public enum DType {
    /** Boolean, one byte. */
    BOOL(1),
    /** Unsigned 8-bit integer (TARQ's codes). */
    U8(1),
    /** Signed 8-bit integer. */
    I8(1),
    /** 8-bit float, 5 exponent and 2 mantissa bits. */
    F8_E5M2(1),
    /** 8-bit float, 4 exponent and 3 mantissa bits. */
    F8_E4M3(1),
    /** Signed 16-bit integer. */
    I16(2),
    /** Unsigned 16-bit integer. */
    U16(2),
    /** IEEE 754 half-precision float. */
    F16(2),
    /** bfloat16: the top 16 bits of a float32. */
    BF16(2),
    /** Signed 32-bit integer. */
    I32(4),
    /** Unsigned 32-bit integer. */
    U32(4),
    /** IEEE 754 single-precision float (TARQ's weights and vectors). */
    F32(4),
    /** IEEE 754 double-precision float. */
    F64(8),
    /** Signed 64-bit integer (TARQ's ids and offsets). */
    I64(8),
    /** Unsigned 64-bit integer. */
    U64(8);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /**
     * Returns the size of one element.
     *
     * @return bytes per element: 1, 2, 4 or 8
     */
    public int byteSize() {
        return byteSize;
    }

    /**
     * Looks up the dtype a header names.
     *
     * @param name the header's {@code dtype} string ("F32", "I64", ...), case-sensitive
     * @return the dtype, or empty when the format has none of that name
     */
    public static Optional<DType> fromHeaderName(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
