package io.tarq.layout;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The value layouts every access to model memory uses: little-endian (the file's byte order, stated on every access
 * rather than assumed from the platform) and unaligned, so that any valid safetensors file is readable whatever the
 * offsets its writer chose. On x86 an unaligned load costs the same as an aligned one.
 */
public final class Layouts {
    /** {@code float}, for F32 tensors. */
    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** {@code long}, for I64 tensors (ids, offsets) and the safetensors header length. */
    public static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** {@code int}, for I32 tensors. */
    public static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** {@code short}, for I16 tensors. */
    public static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** {@code double}, for F64 tensors. */
    public static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** One byte, for U8 tensors ({@code item.codes}); read it with {@link Byte#toUnsignedInt}. */
    public static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;

    private Layouts() {
    }
}
