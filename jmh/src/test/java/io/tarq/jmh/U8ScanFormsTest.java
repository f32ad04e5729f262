package io.tarq.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tarq.engine.kernel.ScalarKernels;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The benchmark-only forms of the uint8 scan ({@link U8ScanForms}) against the scalar specification, exactly, on
 * random codes and tables, L = 1..8, counts around the lane counts (8, 16, 32, 64) and strides beyond the count.
 * Rerun a failure with {@code -Dtarq.tests.seed=S}.
 */
class U8ScanFormsTest {
    private static final long ROOT_SEED = Long.getLong("tarq.tests.seed", 0x75385CA4L);

    private interface Form {
        void scan(byte[] codes, int stride, int count, int levels, byte[] lutU8, short[] sums);
    }

    private static final int[] INTS_SCRATCH = new int[8];

    private static final Form[] FORMS = {
        U8ScanForms::select32,
        U8ScanForms::select16,
        (codes, stride, count, levels, lut, sums) ->
                U8ScanForms.gatherI32(codes, stride, count, levels, lut, sums, new int[levels * 256], INTS_SCRATCH),
    };

    static IntStream counts() {
        return IntStream.of(1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000, 4099);
    }

    @ParameterizedTest
    @MethodSource("counts")
    void formsMatchTheScalarScan(int count) {
        for (int levels = 1; levels <= 8; levels++) {
            long seed = ROOT_SEED ^ (count * 4111L + levels);
            SplittableRandom random = new SplittableRandom(seed);
            int stride = ((count + 63) & ~63) + 64 * random.nextInt(3);
            byte[] codes = new byte[levels * stride];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = (byte) random.nextInt(256);
            }
            byte[] lut = new byte[levels * 256];
            random.nextBytes(lut);
            assertFormsEqual(codes, stride, count, levels, lut, "seed " + seed);
        }
    }

    /** Every code 0..255 at every level, tables at their extremes (255 everywhere) and an identity table. */
    @Test
    void everyCodeAndExtremeEntries() {
        int count = 256;
        for (int levels = 1; levels <= 8; levels++) {
            byte[] codes = new byte[levels * count];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = (byte) (i * 7 + i / 256);
            }
            byte[] lut = new byte[levels * 256];
            Arrays.fill(lut, (byte) 255);
            assertFormsEqual(codes, count, count, levels, lut, "all 255");
            for (int i = 0; i < lut.length; i++) {
                lut[i] = (byte) i;
            }
            assertFormsEqual(codes, count, count, levels, lut, "identity");
        }
    }

    private static void assertFormsEqual(byte[] codes, int stride, int count, int levels, byte[] lut, String what) {
        short[] expected = new short[stride];
        ScalarKernels.INSTANCE.lutScanU8(codes, stride, count, levels, lut, expected);
        for (int f = 0; f < FORMS.length; f++) {
            short[] actual = new short[stride];
            FORMS[f].scan(codes, stride, count, levels, lut, actual);
            for (int i = 0; i < count; i++) {
                assertEquals(expected[i], actual[i], "form " + f + ", candidate " + i + " of " + count + ", L = "
                        + levels + ", stride " + stride + ", " + what);
            }
        }
    }
}
