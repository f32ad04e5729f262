package io.tarq.jmh;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Forms of {@link io.tarq.engine.kernel.KernelSupport#lutScanU8} for machines without a byte permute across 128
 * entries (AVX2: no AVX-512 VBMI), side by side for {@link U8ScanFormsBenchmark}. Each computes exactly what
 * {@link io.tarq.engine.kernel.ScalarKernels#lutScanU8} computes, under the same contract (codes and sums padded to
 * a multiple of 64 entries a level). The engine keeps whichever wins; the others stay here so that the comparison
 * can be repeated on other hardware.
 *
 * <p>A 256-entry uint8 table does not fit one AVX2 lookup: {@code vpshufb} reads 16 entries (within each 128-bit
 * half), and a 256-bit {@code ByteVector.rearrange} reads 32, which C2 builds on AVX2 from a {@code vperm2i128}
 * of the table, two {@code vpshufb}, an add and a {@code vpblendvb}. So a level's table is split into sub-tables, every
 * sub-table is looked up with the code's low bits, and a tree of blends on the code's high bits picks the entry.
 */
public final class U8ScanForms {
    private static final VectorSpecies<Byte> BYTES_128 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Byte> BYTES_256 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Byte> BYTES_64 = ByteVector.SPECIES_64;
    private static final VectorSpecies<Short> SHORTS_256 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Short> SHORTS_128 = ShortVector.SPECIES_128;
    private static final VectorSpecies<Integer> INTS_256 = IntVector.SPECIES_256;

    private U8ScanForms() {
    }

    /**
     * Eight 32-entry sub-tables a level, each looked up by a 256-bit {@code selectFrom} (which wraps the code to its
     * low 5 bits), and a three-level blend tree on bits 5, 6 and 7: 32 candidates a step.
     */
    public static void select32(byte[] codes, int stride, int count, int levels, byte[] lutU8, short[] sums) {
        for (int i = 0; i < count; i += BYTES_256.length()) {
            select32Block(codes, stride, i, levels, lutU8, sums);
        }
    }

    private static void select32Block(byte[] codes, int stride, int i, int levels, byte[] lutU8, short[] sums) {
        ShortVector low = ShortVector.zero(SHORTS_256);
        ShortVector high = ShortVector.zero(SHORTS_256);
        for (int l = 0; l < levels; l++) {
            int table = l * 256;
            ByteVector code = ByteVector.fromArray(BYTES_256, codes, l * stride + i);
            // Bit b of the code moved to the sign bit by adding the code to itself (AVX2 has no byte shift).
            ByteVector twice = code.add(code);
            VectorMask<Byte> bit7 = code.compare(VectorOperators.LT, (byte) 0);
            VectorMask<Byte> bit6 = twice.compare(VectorOperators.LT, (byte) 0);
            VectorMask<Byte> bit5 = twice.add(twice).compare(VectorOperators.LT, (byte) 0);
            ByteVector e0 = code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 32)), bit5);
            ByteVector e1 = code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 64))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 96)), bit5);
            ByteVector e2 = code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 128))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 160)), bit5);
            ByteVector e3 = code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 192))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 224)), bit5);
            ByteVector entry = e0.blend(e1, bit6).blend(e2.blend(e3, bit6), bit7);
            low = low.add((ShortVector) entry.convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_256, 0));
            high = high.add((ShortVector) entry.convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_256, 1));
        }
        low.intoArray(sums, i);
        high.intoArray(sums, i + SHORTS_256.length());
    }

    /**
     * Sixteen 16-entry sub-tables a level, each looked up by a 128-bit {@code selectFrom} (one {@code vpshufb}), and
     * a four-level blend tree on bits 4 to 7: 16 candidates a step.
     */
    public static void select16(byte[] codes, int stride, int count, int levels, byte[] lutU8, short[] sums) {
        for (int i = 0; i < count; i += BYTES_128.length()) {
            select16Block(codes, stride, i, levels, lutU8, sums);
        }
    }

    private static void select16Block(byte[] codes, int stride, int i, int levels, byte[] lutU8, short[] sums) {
        ShortVector acc = ShortVector.zero(SHORTS_256);
        for (int l = 0; l < levels; l++) {
            int t = l * 256;
            ByteVector code = ByteVector.fromArray(BYTES_128, codes, l * stride + i);
            ByteVector twice = code.add(code);
            ByteVector four = twice.add(twice);
            VectorMask<Byte> bit7 = code.compare(VectorOperators.LT, (byte) 0);
            VectorMask<Byte> bit6 = twice.compare(VectorOperators.LT, (byte) 0);
            VectorMask<Byte> bit5 = four.compare(VectorOperators.LT, (byte) 0);
            VectorMask<Byte> bit4 = four.add(four).compare(VectorOperators.LT, (byte) 0);
            ByteVector e0 = code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 16)), bit4);
            ByteVector e1 = code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 32))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 48)), bit4);
            ByteVector e2 = code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 64))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 80)), bit4);
            ByteVector e3 = code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 96))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 112)), bit4);
            ByteVector e4 = code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 128))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 144)), bit4);
            ByteVector e5 = code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 160))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 176)), bit4);
            ByteVector e6 = code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 192))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 208)), bit4);
            ByteVector e7 = code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 224))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_128, lutU8, t + 240)), bit4);
            ByteVector lower = e0.blend(e1, bit5).blend(e2.blend(e3, bit5), bit6);
            ByteVector upper = e4.blend(e5, bit5).blend(e6.blend(e7, bit5), bit6);
            ByteVector entry = lower.blend(upper, bit7);
            acc = acc.add((ShortVector) entry.convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_256, 0));
        }
        acc.intoArray(sums, i);
    }

    /**
     * The hardware gather ({@code vpgatherdd}): the table widened to ints once a call into {@code lutI32}, each
     * block's codes widened to ints into {@code indexes} (the Vector API gathers only with an {@code int[]} index
     * map), eight candidates a step.
     *
     * @param lutI32  scratch, at least {@code levels · 256} ints
     * @param indexes scratch, at least 8 ints
     */
    public static void gatherI32(byte[] codes, int stride, int count, int levels, byte[] lutU8, short[] sums,
                                 int[] lutI32, int[] indexes) {
        for (int k = 0; k < levels * 256; k++) {
            lutI32[k] = Byte.toUnsignedInt(lutU8[k]);
        }
        for (int i = 0; i < count; i += INTS_256.length()) {
            IntVector acc = IntVector.zero(INTS_256);
            for (int l = 0; l < levels; l++) {
                ((IntVector) ByteVector.fromArray(BYTES_64, codes, l * stride + i)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, INTS_256, 0)).intoArray(indexes, 0);
                acc = acc.add(IntVector.fromArray(INTS_256, lutI32, l * 256, indexes, 0));
            }
            acc.convertShape(VectorOperators.I2S, SHORTS_128, 0).reinterpretAsShorts().intoArray(sums, i);
        }
    }
}
