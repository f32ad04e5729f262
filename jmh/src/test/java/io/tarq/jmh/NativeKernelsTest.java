package io.tarq.jmh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tarq.engine.kernel.AttentionKeys;
import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.QueryBlocks;
import io.tarq.engine.kernel.ScalarKernels;
import io.tarq.engine.kernel.panama.PanamaKernels;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The C kernels against the Java ones on random inputs, over sizes around the lane counts (8 and 16 floats, 32 and
 * 64 bytes): both scans exactly (the uint8 sums are integers; the float scan adds the same entries in the same order),
 * the LUT build's attention within float rounding of the scalar specification and, where the Panama kernel's float
 * vectors have as many lanes as the C kernel's (16 on AVX-512F, 8 on AVX2), bit for bit equal to it (the C code
 * performs the same operations lane for lane). The root seed is in every failure; rerun with
 * {@code -Dtarq.tests.seed=S}.
 */
class NativeKernelsTest {
    /**
     * Without gcc the build leaves the library out (build.sh): then there is nothing to test. With gcc on the PATH a
     * missing library is a build fault, and the tests run (and fail) rather than skip.
     */
    @org.junit.jupiter.api.BeforeAll
    static void libraryBuiltOrNoCompiler() {
        if (!java.nio.file.Files.exists(NativeLibrary.path())) {
            assumeTrue(gccAvailable(), "gcc is not installed: the native kernels were not built");
        }
    }

    private static boolean gccAvailable() {
        try {
            return new ProcessBuilder("gcc", "--version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor() == 0;
        } catch (java.io.IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static final long ROOT_SEED = Long.getLong("tarq.tests.seed", 20261123L);
    static final int[] SIZES = {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 4099};

    static final KernelSupport SCALAR = ScalarKernels.INSTANCE;
    static final PanamaKernels PANAMA = new PanamaKernels();

    static IntStream sizes() {
        return IntStream.of(SIZES);
    }

    static String seed(long s) {
        return " [seed " + s + "; rerun with -Dtarq.tests.seed=" + ROOT_SEED + "; " + NativeKernels.description() + "]";
    }

    private static float[] gaussian(SplittableRandom random, int n, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (random.nextGaussian() * std);
        }
        return out;
    }

    private static byte[] randomCodes(SplittableRandom random, int levels, int stride, int codebookSize) {
        byte[] codes = new byte[levels * stride];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) random.nextInt(codebookSize);
        }
        return codes;
    }

    @Test
    void theLibraryIsBuiltForThisMachine() {
        // gcc -march=native compiles the AVX-512 and AVX2 paths exactly where the CPU has them; the engine reads the
        // same flags.
        String flags = cpuFlags();
        boolean vbmi = flags.contains(" avx512vbmi ") && flags.contains(" avx512bw ");
        boolean avx2 = flags.contains(" avx2 ");
        boolean avx512f = flags.contains(" avx512f ");
        assertEquals(vbmi, NativeKernels.byteTablesInRegisters(), NativeKernels.description());
        assertEquals(avx2 && !vbmi, NativeKernels.byteTablesInSubTables(), NativeKernels.description());
        assertEquals(avx512f || avx2 && flags.contains(" fma "), NativeKernels.hasAttendRows(), NativeKernels.description());
        assertEquals(avx512f ? 16 : NativeKernels.hasAttendRows() ? 8 : 0, NativeKernels.attendRowsLanes(),
                NativeKernels.description());
    }

    private static String cpuFlags() {
        try (Stream<String> lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("flags")).findFirst().map(l -> l + " ").orElse("");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @ParameterizedTest
    @MethodSource("sizes")
    void lutScanU8IsExact(int count) {
        for (int levels = 1; levels <= 8; levels++) {
            long seed = ROOT_SEED ^ (count * 1009L + levels);
            SplittableRandom random = new SplittableRandom(seed);
            int stride = (count + 63) & ~63;
            byte[] codes = randomCodes(random, levels, stride, 256);
            byte[] lut = new byte[levels * 256];
            random.nextBytes(lut);
            assertScanU8Equal(codes, stride, count, levels, lut, seed);
        }
    }

    /**
     * All codes 0, 15, 16 (two 16-entry sub-tables' border), 127, 128 (the two 128-entry lookups' border), 240 or
     * 255 = K−1, and tables at the uint16 sum's largest (8 × 255).
     */
    @Test
    void lutScanU8Boundaries() {
        int count = 4099;
        int stride = (count + 63) & ~63;
        for (int code : new int[] {0, 15, 16, 127, 128, 240, 255}) {
            for (int levels : new int[] {1, 3, 8}) {
                byte[] codes = new byte[levels * stride];
                Arrays.fill(codes, (byte) code);
                byte[] lut = new byte[levels * 256];
                Arrays.fill(lut, (byte) 255);
                short[] sums = assertScanU8Equal(codes, stride, count, levels, lut, code);
                assertEquals(255 * levels, Short.toUnsignedInt(sums[count - 1]));
                for (int i = 0; i < lut.length; i++) {
                    lut[i] = (byte) i;
                }
                sums = assertScanU8Equal(codes, stride, count, levels, lut, code);
                assertEquals(code * levels, Short.toUnsignedInt(sums[0]));
            }
        }
    }

    private static short[] assertScanU8Equal(byte[] codes, int stride, int count, int levels, byte[] lut, long seed) {
        short[] expected = new short[stride];
        short[] panama = new short[stride];
        short[] actual = new short[stride];
        SCALAR.lutScanU8(codes, stride, count, levels, lut, expected);
        PANAMA.lutScanU8(codes, stride, count, levels, lut, panama);
        NativeKernels.lutScanU8(codes, stride, count, levels, lut, actual);
        for (int i = 0; i < count; i++) {
            assertEquals(expected[i], actual[i], "candidate " + i + " of " + count + ", L = " + levels + seed(seed));
            assertEquals(panama[i], actual[i], "candidate " + i + " against Panama" + seed(seed));
        }
        return actual;
    }

    @ParameterizedTest
    @MethodSource("sizes")
    void lutScanF32IsBitForBit(int count) {
        for (int codebookSize : new int[] {2, 16, 200, 256}) {
            for (int levels : new int[] {1, 3, 8}) {
                long seed = ROOT_SEED ^ (count * 2003L + codebookSize * 11L + levels);
                SplittableRandom random = new SplittableRandom(seed);
                int stride = (count + 63) & ~63;
                byte[] codes = randomCodes(random, levels, stride, codebookSize);
                float[] lut = gaussian(random, levels * codebookSize, 1);
                float[] base = gaussian(random, count + 1, 1); // out accumulates: start from non-zero values
                float[] expected = base.clone();
                float[] actual = base.clone();
                SCALAR.lutScanF32(codes, stride, count, levels, codebookSize, lut, expected);
                NativeKernels.lutScanF32(codes, stride, count, levels, codebookSize, lut, actual);
                assertArrayEquals(expected, actual, "L = " + levels + ", K = " + codebookSize + seed(seed)); // incl. the untouched last
            }
        }
    }

    static Stream<Arguments> attentionShapes() {
        // (keys n, heads, head width, null key)
        return Stream.of(0, 1, 2, 3, 4, 5, 15, 16, 17, 33, 50, 64, 65, 100)
                .flatMap(n -> Stream.of(Arguments.of(n, 4, 16, false), Arguments.of(n, 4, 16, true),
                        Arguments.of(n, 2, 8, true), Arguments.of(n, 1, 32, false)));
    }

    @ParameterizedTest
    @MethodSource("attentionShapes")
    void attendRowsMatchesTheJavaKernels(int n, int heads, int dh, boolean nullKey) {
        assumeTrue(NativeKernels.hasAttendRows(), "this build has no tarq_attend_rows (needs AVX-512F, or AVX2 and FMA)");
        // Bit-for-bit with Panama only where Panama has the C code's lanes: 16 floats on AVX-512F, 8 on AVX2 (a JVM
        // run with -XX:UseAVX=2 on an AVX-512 machine has 8 against C's 16).
        boolean panamaHasTheCLanes = FloatVector.SPECIES_PREFERRED.length() == NativeKernels.attendRowsLanes();
        long seed = ROOT_SEED ^ (n * 131L + heads * 17L + dh + (nullKey ? 1 : 0));
        SplittableRandom random = new SplittableRandom(seed);
        int d = heads * dh;
        AttentionKeys keys = new AttentionKeys(heads, dh, Math.max(n, 1), nullKey ? gaussian(random, d, 1) : null);
        keys.fill(gaussian(random, n * d, 1), gaussian(random, n * d, 1), gaussian(random, d, 1), n);
        double bound = 0;
        for (float u : keys.u) {
            bound = Math.max(bound, Math.abs(u));
        }
        // 1 to 4 lane groups at a time (8 or 16 queries each), a partial last group, and the LUT build's 768 rows.
        for (int count : new int[] {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 80, 129, 768}) {
            float[] queries = gaussian(random, count * d, 0.5);
            for (int i = 16; i < count; i += 32) { // every other group: scores in the hundreds, the softmax with the max
                System.arraycopy(gaussian(random, Math.min(16, count - i) * d, 40), 0, queries, i * d, Math.min(16, count - i) * d);
            }
            float[] blocked = new float[QueryBlocks.length(count, d)];
            QueryBlocks.block(queries, 0, count, d, blocked);
            float[] expected = new float[count];
            float[] panama = new float[count];
            float[] actual = new float[count + 1];
            actual[count] = 12345f; // nothing past count is written
            SCALAR.attendRows(blocked, count, keys, new float[KernelSupport.scoresLength(keys)], expected);
            PANAMA.attendRows(blocked, count, keys, new float[KernelSupport.scoresLength(keys)], panama);
            NativeKernels.attendRows(blocked, count, keys, new float[NativeKernels.SCORES_PER_KEY * keys.capacity()], actual);
            assertEquals(12345f, actual[count], "wrote past count" + seed(seed));
            for (int i = 0; i < count; i++) {
                // The engine's bound for Panama against scalar: float rounding relative to the readout's size.
                assertEquals(expected[i], actual[i], 2e-5 * (heads * bound + 1e-3), "query " + i + " of " + count + seed(seed));
                if (panamaHasTheCLanes) {
                    assertEquals(Float.floatToRawIntBits(panama[i]), Float.floatToRawIntBits(actual[i]),
                            "query " + i + " of " + count + ": C " + actual[i] + ", Panama " + panama[i] + seed(seed));
                }
            }
        }
    }

    @Test
    void sizesAreCheckedBeforeCallingC() {
        byte[] codes = new byte[3 * 64];
        assertThrows(IllegalArgumentException.class,
                () -> NativeKernels.lutScanU8(codes, 64, 65, 3, new byte[3 * 256], new short[128])); // count > stride
        assertThrows(IllegalArgumentException.class,
                () -> NativeKernels.lutScanU8(codes, 64, 10, 3, new byte[2 * 256], new short[64])); // table too short
        assertThrows(IllegalArgumentException.class,
                () -> NativeKernels.lutScanU8(codes, 64, 10, 3, new byte[3 * 256], new short[10])); // sums not padded
        assertThrows(IllegalArgumentException.class,
                () -> NativeKernels.lutScanF32(codes, 64, 10, 3, 256, new float[256], new float[10]));
        assertThrows(IllegalArgumentException.class,
                () -> NativeKernels.lutScanF32(codes, 64, 10, 3, 256, new float[768], new float[9]));
        AttentionKeys keys = new AttentionKeys(4, 16, 50, null);
        keys.n = 50;
        assumeTrue(NativeKernels.hasAttendRows());
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.attendRows(new float[QueryBlocks.length(16, 64)], 16,
                keys, new float[16 * keys.capacity()], new float[16])); // scratch for one 16-query group only
        assertTrue(NativeKernels.description().startsWith("native"));
    }
}
