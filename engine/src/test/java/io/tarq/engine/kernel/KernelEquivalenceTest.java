package io.tarq.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.layout.Layouts;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every Panama kernel against its scalar twin on random inputs, over sizes around the lane counts: exactly for the
 * integer kernels, within float rounding (relative to the sum of absolute terms) for the float ones. The root seed
 * is printed in every failure; rerun one with {@code -Dtarq.tests.seed=S}.
 */
class KernelEquivalenceTest {
    static final long ROOT_SEED = Long.getLong("tarq.tests.seed", 20261123L);
    static final int[] SIZES = {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 4099};

    static KernelSupport scalar = ScalarKernels.INSTANCE;
    static KernelSupport panama;

    @BeforeAll
    static void loadPanama() {
        panama = KernelsTestSupport.panama();
    }

    static IntStream sizes() {
        return IntStream.of(SIZES);
    }

    static String seed(long s) {
        return " [seed " + s + "; rerun with -Dtarq.tests.seed=" + ROOT_SEED + "]";
    }

    private static float[] gaussian(SplittableRandom random, int n, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (random.nextGaussian() * std);
        }
        return out;
    }

    enum Memory { HEAP, NATIVE, ODD_OFFSET }

    static Stream<Arguments> sizesAndMemory() {
        return IntStream.of(SIZES).boxed().flatMap(n -> Stream.of(Memory.values()).map(m -> Arguments.of(n, m)));
    }

    /** {@code bytes} of zeroed memory of the given kind: a heap array, native and aligned, or native at offset 3. */
    private static MemorySegment segment(Memory memory, Arena arena, long bytes) {
        return switch (memory) {
            case HEAP -> MemorySegment.ofArray(new byte[Math.toIntExact(bytes)]);
            case NATIVE -> arena.allocate(bytes, 64);
            case ODD_OFFSET -> arena.allocate(bytes + 64, 64).asSlice(3, bytes);
        };
    }

    /**
     * The dot-product kernels agree row by row: {@code expected[i]} and {@code actual[i]} within
     * 1e-5·(scale·Σ_k |u_k·x_k| + 1), x the {@code dim} table values of row {@code rows[i]} ({@code element(index)}).
     */
    private static void assertDotsAgree(float[] expected, float[] actual, int[] rows, float[] u, int dim, float scale,
                                        IntToDoubleFunction element, String what, long seed) {
        for (int i = 0; i < rows.length; i++) {
            double bound = 0;
            for (int k = 0; k < dim; k++) {
                bound += Math.abs(u[k] * (float) element.applyAsDouble(rows[i] * dim + k));
            }
            assertEquals(expected[i], actual[i], 1e-5 * (scale * bound + 1), "row " + i + ", " + what + seed(seed));
        }
    }

    @ParameterizedTest
    @MethodSource("sizesAndMemory")
    void dotRows(int count, Memory memory) {
        for (int dim : new int[] {16, 64, 80, 24}) {
            long seed = ROOT_SEED ^ (count * 31L + dim);
            SplittableRandom random = new SplittableRandom(seed);
            int catalog = 300;
            float[] table = gaussian(random, catalog * dim, 1);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment vec = segment(memory, arena, catalog * dim * 4L);
                MemorySegment.copy(table, 0, vec, Layouts.F32, 0, table.length);
                int[] rows = random.ints(count, 0, catalog).toArray();
                float[] u = gaussian(random, dim, 1);
                float[] expected = new float[count];
                float[] actual = new float[count];
                scalar.dotRows(vec, dim, rows, count, u, 2.5f, -0.5f, expected);
                panama.dotRows(vec, dim, rows, count, u, 2.5f, -0.5f, actual);
                assertDotsAgree(expected, actual, rows, u, dim, 2.5f, k -> table[k], "dim " + dim, seed);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("sizesAndMemory")
    void dotRowsSq8(int count, Memory memory) {
        for (int stride : new int[] {16, 64, 80, 32}) {
            long seed = ROOT_SEED ^ (count * 37L + stride);
            SplittableRandom random = new SplittableRandom(seed);
            int catalog = 300;
            byte[] table = new byte[catalog * stride];
            for (int i = 0; i < table.length; i++) {
                // A fifth of the bytes at the extremes, where sign extension would go wrong first.
                int pick = random.nextInt(10);
                table[i] = pick == 0 ? Byte.MIN_VALUE : pick == 1 ? Byte.MAX_VALUE : (byte) random.nextInt(256);
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment codes = segment(memory, arena, table.length).copyFrom(MemorySegment.ofArray(table));
                int[] rows = random.ints(count, 0, catalog).toArray();
                float[] u = gaussian(random, stride, 1);
                float[] expected = new float[count];
                float[] actual = new float[count];
                scalar.dotRowsSq8(codes, stride, rows, count, u, 2.5f, -0.5f, expected);
                panama.dotRowsSq8(codes, stride, rows, count, u, 2.5f, -0.5f, actual);
                assertDotsAgree(expected, actual, rows, u, stride, 2.5f, k -> table[k], "stride " + stride, seed);
            }
        }
    }

    /**
     * The Panama kernels give the paper's default widths (8-bit rows of 64 bytes; cross rows of dx = 16 at L = 3) loops
     * of constant length; they must compute what the general loops compute, bit for bit. Padding leaves the general
     * loops' result unchanged (a zero byte or a zero table row adds +0 to a nonzero partial sum), so the same rows
     * at stride 80, and the same cross terms with a fourth, all-zero level, take the general loops to the same bits.
     */
    @ParameterizedTest
    @MethodSource("sizesAndMemory")
    void defaultWidthsScoreAsTheGeneralLoops(int count, Memory memory) {
        long seed = ROOT_SEED ^ (count * 47L);
        SplittableRandom random = new SplittableRandom(seed);
        int catalog = 300, codebookSize = 256, dx = 16;
        byte[] line = new byte[catalog * 64], padded = new byte[catalog * 80];
        for (int r = 0; r < catalog; r++) {
            for (int k = 0; k < 64; k++) {
                line[r * 64 + k] = padded[r * 80 + k] = (byte) random.nextInt(256);
            }
        }
        float[] u = gaussian(random, 80, 1);
        float[] cross = gaussian(random, catalog * dx, 1);
        float[] x3 = gaussian(random, 3 * codebookSize * dx, 1);
        float[] x4 = Arrays.copyOf(x3, 4 * codebookSize * dx); // level 3's rows all zero
        int stride = (count + 63) & ~63;
        byte[] codes = new byte[4 * stride];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) random.nextInt(256);
        }
        int[] rows = random.ints(count, 0, catalog).toArray();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment lineRows = segment(memory, arena, line.length).copyFrom(MemorySegment.ofArray(line));
            MemorySegment paddedRows = segment(memory, arena, padded.length).copyFrom(MemorySegment.ofArray(padded));
            float[] expected = new float[count], actual = new float[count];
            panama.dotRowsSq8(paddedRows, 80, rows, count, u, 2.5f, -0.5f, expected);
            panama.dotRowsSq8(lineRows, 64, rows, count, u, 2.5f, -0.5f, actual);
            assertArrayEquals(expected, actual, "8-bit rows of 64 bytes" + seed(seed));

            MemorySegment crossRows = segment(memory, arena, cross.length * 4L);
            MemorySegment.copy(cross, 0, crossRows, Layouts.F32, 0, cross.length);
            panama.crossScan(codes, stride, count, 4, codebookSize, x4, dx, crossRows, rows, expected);
            panama.crossScan(codes, stride, count, 3, codebookSize, x3, dx, crossRows, rows, actual);
            assertArrayEquals(expected, actual, "cross rows of dx = 16 at L = 3" + seed(seed));
        }
    }

    /**
     * The touch-ahead loads one float of each of a row's lines, up to four a pass: for every row width from one float
     * to five lines, rows that end the table exactly (the last row, in memory that ends with it) are read and scored
     * as the scalar twin scores them, with no access past the table.
     */
    @ParameterizedTest
    @EnumSource(Memory.class)
    void rowScansReadNothingPastTheLastRow(Memory memory) {
        int catalog = 5, count = 67; // a chunk's worth of the last row, and a few other rows
        for (int dim = 1; dim <= 80; dim++) {
            long seed = ROOT_SEED ^ (dim * 41L);
            SplittableRandom random = new SplittableRandom(seed);
            int[] rows = random.ints(count, 0, catalog).map(r -> r % 2 == 0 ? catalog - 1 : r).toArray();
            float[] u = gaussian(random, 16 * ((dim + 15) / 16), 1); // dotRowsSq8 reads a whole stride of u
            try (Arena arena = Arena.ofConfined()) {
                float[] table = gaussian(random, catalog * dim, 1);
                MemorySegment vec = segment(memory, arena, catalog * dim * 4L);
                MemorySegment.copy(table, 0, vec, Layouts.F32, 0, table.length);
                float[] expected = new float[count];
                float[] actual = new float[count];
                scalar.dotRows(vec, dim, rows, count, u, 1.5f, 0.25f, expected);
                panama.dotRows(vec, dim, rows, count, u, 1.5f, 0.25f, actual);
                assertDotsAgree(expected, actual, rows, u, dim, 1.5f, k -> table[k], "dim " + dim, seed);
                if (dim % 16 == 0) {
                    byte[] bytes = new byte[catalog * dim];
                    random.nextBytes(bytes);
                    MemorySegment codes = segment(memory, arena, bytes.length).copyFrom(MemorySegment.ofArray(bytes));
                    scalar.dotRowsSq8(codes, dim, rows, count, u, 1.5f, 0.25f, expected);
                    panama.dotRowsSq8(codes, dim, rows, count, u, 1.5f, 0.25f, actual);
                    assertDotsAgree(expected, actual, rows, u, dim, 1.5f, k -> bytes[k], "8-bit, stride " + dim, seed);
                }
            }
        }
    }

    /**
     * LayerNorm's output pass is the same bits in both: the same float and double operations lane for lane, over
     * widths around the four-lane step, rows at an offset, means and scales of any size, and non-finite inputs.
     */
    @Test
    void layerNormRowIsExact() {
        SplittableRandom random = new SplittableRandom(ROOT_SEED ^ 4242);
        for (int trial = 0; trial < 20_000; trial++) { // enough calls for C2 to compile both
            int d = 1 + random.nextInt(70), offset = random.nextInt(9);
            double scale = Math.scalb(1.0, random.nextInt(-20, 21));
            float[] xs = gaussian(random, offset + d, scale);
            float[] as = gaussian(random, offset + d, scale);
            if (trial % 100 == 0) {
                xs[offset + random.nextInt(d)] = trial % 200 == 0 ? Float.NaN : Float.POSITIVE_INFINITY;
            }
            double mean = random.nextGaussian() * scale;
            float inverse = (float) (1 / (scale * (0.5 + random.nextDouble())));
            float[] weight = gaussian(random, d, 1);
            float[] bias = gaussian(random, d, 0.1);
            float[] expected = new float[offset + d];
            float[] actual = new float[offset + d];
            scalar.layerNormRow(xs, as, offset, d, mean, inverse, weight, bias, expected);
            panama.layerNormRow(xs, as, offset, d, mean, inverse, weight, bias, actual);
            assertArrayEquals(expected, actual, "d " + d + " offset " + offset + " trial " + trial);
        }
    }

    @ParameterizedTest
    @MethodSource("sizes")
    void linear(int rows) {
        for (int[] shape : new int[][] {{64, 64}, {128, 64}, {16, 24}, {64, 1}, {192, 33}, {32, 200}}) {
            int in = shape[0], out = shape[1];
            long seed = ROOT_SEED ^ (rows * 7919L + in * 31L + out);
            SplittableRandom random = new SplittableRandom(seed);
            int rowsUsed = Math.min(rows, 300);
            float[] x = gaussian(random, 5 + rowsUsed * in, 1);
            float[] wT = gaussian(random, in * out, 1 / Math.sqrt(in));
            float[] bias = random.nextBoolean() ? gaussian(random, out, 0.1) : null;
            float[] expected = new float[3 + rowsUsed * out];
            float[] actual = new float[3 + rowsUsed * out];
            scalar.linear(x, 5, rowsUsed, in, wT, bias, out, expected, 3);
            panama.linear(x, 5, rowsUsed, in, wT, bias, out, actual, 3);
            for (int r = 0; r < rowsUsed; r++) {
                for (int o = 0; o < out; o++) {
                    double bound = bias == null ? 0 : Math.abs(bias[o]);
                    for (int t = 0; t < in; t++) {
                        bound += Math.abs(x[5 + r * in + t] * wT[t * out + o]);
                    }
                    int i = 3 + r * out + o;
                    assertEquals(expected[i], actual[i], 1e-5 * (bound + 1e-3), "[" + r + "][" + o + "] " + in + "→" + out + seed(seed));
                }
            }
            // The exact bits: every output vector is one FMA chain over t from the bias, whatever the kernel's blocking
            // of rows and outputs; the outputs past the last whole vector are the scalar tail's multiply-adds.
            int vectorEnd = out - out % jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
            for (int r = 0; r < rowsUsed; r++) {
                for (int o = 0; o < out; o++) {
                    float acc = bias == null ? 0f : bias[o];
                    for (int t = 0; t < in; t++) {
                        float xt = x[5 + r * in + t], w = wT[t * out + o];
                        acc = o < vectorEnd ? Math.fma(w, xt, acc) : acc + xt * w;
                    }
                    assertEquals(acc, actual[3 + r * out + o], 0f, "[" + r + "][" + o + "] " + in + "→" + out + seed(seed));
                }
            }
        }
    }

    static Stream<Arguments> attentionShapes() {
        // (keys n, heads, head width, null key)
        return Stream.of(0, 1, 2, 7, 15, 16, 17, 31, 32, 33, 50, 63, 64, 65, 100, 200)
                .flatMap(n -> Stream.of(Arguments.of(n, 4, 16, false), Arguments.of(n, 4, 16, true),
                        Arguments.of(n, 2, 8, true), Arguments.of(n, 1, 32, false),
                        Arguments.of(n, 1, 64, false))); // the user attention through the projections: h queries of width d
    }

    private static AttentionKeys keys(SplittableRandom random, int n, int heads, int dh, boolean nullKey, float[] values) {
        int d = heads * dh;
        AttentionKeys k = new AttentionKeys(heads, dh, Math.max(n, 1), nullKey ? gaussian(random, d, 1) : null);
        float[] raw = gaussian(random, n * d, 1);
        System.arraycopy(gaussian(random, n * d, 1), 0, values, 0, n * d);
        k.fill(raw, values, gaussian(random, d, 1), n);
        return k;
    }

    /** Scores within ±64: the Panama kernel's softmax without the max (AttentionKeys.unshiftedNormSq). */
    @ParameterizedTest
    @MethodSource("attentionShapes")
    void attendRows(int n, int heads, int dh, boolean nullKey) {
        checkAttendRows(n, heads, dh, nullKey, 0);
    }

    /**
     * Every other 16 queries with scores in the hundreds (2^s would overflow without the max): lane groups of one call
     * take both of the Panama kernel's softmax forms.
     */
    @ParameterizedTest
    @MethodSource("attentionShapes")
    void attendRowsWithWideScores(int n, int heads, int dh, boolean nullKey) {
        checkAttendRows(n, heads, dh, nullKey, 40);
    }

    /** Queries of std 0.5, or, when {@code wideStd > 0}, of std wideStd for the queries i with i / 16 odd. */
    private static void checkAttendRows(int n, int heads, int dh, boolean nullKey, double wideStd) {
        long seed = ROOT_SEED ^ (n * 131L + heads * 17L + dh + (nullKey ? 1 : 0)) ^ (long) wideStd;
        SplittableRandom random = new SplittableRandom(seed);
        int d = heads * dh;
        float[] values = new float[Math.max(n, 1) * d];
        AttentionKeys keys = keys(random, n, heads, dh, nullKey, values);
        // steps with 1–3 groups of real queries (the rest padding), whole 64-query blocks, and blocks with groups left
        // over
        for (int count : new int[] {1, 3, 8, 9, 16, 17, 48, 64, 65, 129, 200}) {
            float[] queries = gaussian(random, count * d, 0.5);
            if (wideStd > 0) {
                for (int i = 16; i < count; i++) {
                    if (i / 16 % 2 == 1) {
                        System.arraycopy(gaussian(random, d, wideStd), 0, queries, i * d, d);
                    }
                }
            }
            float[] blocked = new float[QueryBlocks.length(count, d)];
            QueryBlocks.block(queries, 0, count, d, blocked);
            float[] expected = new float[count];
            float[] actual = new float[count + 1];
            actual[count] = 12345f; // the kernel must not write past count
            float[] scores = new float[KernelSupport.scoresLength(keys)];
            scalar.attendRows(blocked, count, keys, scores, expected);
            panama.attendRows(blocked, count, keys, scores, actual);
            assertEquals(12345f, actual[count]);
            double bound = 0;
            for (int i = 0; i < keys.u.length; i++) {
                bound = Math.max(bound, Math.abs(keys.u[i]));
            }
            for (int i = 0; i < count; i++) {
                assertEquals(expected[i], actual[i], 2e-5 * (heads * bound + 1e-3), "query " + i + " of " + count + seed(seed));
            }
            // The blocked layout is the row layout transposed: query i's component c wherever QueryBlocks says.
            int i = count - 1, c = d - 1;
            int block = QueryBlocks.BLOCK;
            assertEquals(queries[i * d + c], blocked[((i / block) * d + c) * block + i % block]);
        }
    }

    static Stream<Arguments> crossShapes() {
        // (keys n, heads, head width, null key, dx, wide scores)
        return Stream.of(0, 1, 7, 16, 17, 50, 65)
                .flatMap(n -> Stream.of(Arguments.of(n, 4, 16, true, 16, false), Arguments.of(n, 4, 16, false, 1, true),
                        Arguments.of(n, 2, 8, true, 3, false), Arguments.of(n, 4, 16, true, 64, true),
                        Arguments.of(n, 1, 32, false, 8, false)));
    }

    /**
     * The cross rows against the scalar twin, within rounding relative to the largest |U|; and the readouts of the
     * same call bit for bit those of {@code attendRows} (the cross path only adds stores to it).
     */
    @ParameterizedTest
    @MethodSource("crossShapes")
    void attendRowsCross(int n, int heads, int dh, boolean nullKey, int dx, boolean wide) {
        long seed = ROOT_SEED ^ (n * 131L + heads * 17L + dh + dx * 7919L + (nullKey ? 1 : 0) + (wide ? 2 : 0));
        SplittableRandom random = new SplittableRandom(seed);
        int d = heads * dh;
        AttentionKeys keys = new AttentionKeys(heads, dh, Math.max(n, 1), nullKey ? gaussian(random, d, 1) : null, dx);
        float[] values = gaussian(random, Math.max(n, 1) * d, 1);
        keys.fill(gaussian(random, n * d, 1), values, gaussian(random, d, 1), n);
        float[] u = gaussian(random, n * heads * dx, 1);
        System.arraycopy(u, 0, keys.crossU, 0, u.length);
        double bound = 1e-3;
        for (float v : u) {
            bound = Math.max(bound, Math.abs(v));
        }
        for (int count : new int[] {1, 9, 17, 64, 65, 200}) {
            float[] queries = gaussian(random, count * d, wide ? 20 : 0.5);
            float[] blocked = new float[QueryBlocks.length(count, d)];
            QueryBlocks.block(queries, 0, count, d, blocked);
            float[] scores = new float[KernelSupport.scoresLength(keys)];
            float[] expectedCross = new float[count * dx];
            float[] actualCross = new float[count * dx + 1];
            actualCross[count * dx] = 12345f; // the kernel must not write past count rows
            float[] expected = new float[count];
            float[] actual = new float[count];
            float[] readouts = new float[count];
            scalar.attendRowsCross(blocked, count, keys, scores, expected, expectedCross);
            panama.attendRowsCross(blocked, count, keys, scores, actual, actualCross);
            panama.attendRows(blocked, count, keys, scores, readouts);
            assertArrayEquals(readouts, actual, "readouts" + seed(seed));
            assertEquals(12345f, actualCross[count * dx]);
            for (int i = 0; i < count * dx; i++) {
                assertEquals(expectedCross[i], actualCross[i], 2e-5 * heads * bound,
                        "query " + i / dx + " component " + i % dx + " of " + count + seed(seed));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("sizesAndMemory")
    void crossScan(int count, Memory memory) {
        int catalog = 300, codebookSize = 256;
        for (int[] shape : new int[][] {{16, 3}, {1, 1}, {7, 2}, {8, 3}, {17, 4}, {64, 8}}) {
            int dx = shape[0], levels = shape[1];
            long seed = ROOT_SEED ^ (count * 41L + dx * 7L + levels);
            SplittableRandom random = new SplittableRandom(seed);
            float[] table = gaussian(random, catalog * dx, 1);
            float[] x = gaussian(random, levels * codebookSize * dx, 1);
            int stride = (count + 63) & ~63;
            byte[] codes = new byte[levels * stride];
            for (int i = 0; i < codes.length; i++) {
                int pick = random.nextInt(10); // codes 0 and 255 often: the ends of each level's rows
                codes[i] = pick == 0 ? 0 : pick == 1 ? (byte) 255 : (byte) random.nextInt(256);
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment crossRows = segment(memory, arena, catalog * dx * 4L);
                MemorySegment.copy(table, 0, crossRows, Layouts.F32, 0, table.length);
                int[] rows = random.ints(count, 0, catalog).toArray();
                float[] expected = new float[count];
                float[] actual = new float[count];
                scalar.crossScan(codes, stride, count, levels, codebookSize, x, dx, crossRows, rows, expected);
                panama.crossScan(codes, stride, count, levels, codebookSize, x, dx, crossRows, rows, actual);
                for (int i = 0; i < count; i++) {
                    double bound = 0;
                    for (int c = 0; c < dx; c++) {
                        double sum = 0;
                        for (int l = 0; l < levels; l++) {
                            sum += Math.abs(x[(l * codebookSize + Byte.toUnsignedInt(codes[l * stride + i])) * dx + c]);
                        }
                        bound += sum * Math.abs(table[rows[i] * dx + c]);
                    }
                    assertEquals(expected[i], actual[i], 1e-5 * (bound + 1e-3), "candidate " + i + " dx " + dx + " L " + levels + seed(seed));
                }
            }
        }
    }

    /**
     * The record pass gives, in each implementation, the same bits as that implementation's dotRows and crossScan over
     * separate tables (the scorer relies on it), and the two implementations agree within rounding.
     */
    @ParameterizedTest
    @MethodSource("sizesAndMemory")
    void dotRowsCrossIsDotRowsAndCrossScanInOnePass(int count, Memory memory) {
        int catalog = 300, codebookSize = 256;
        for (int[] shape : new int[][] {{64, 16, 3}, {16, 1, 1}, {48, 7, 2}, {32, 8, 3}, {80, 17, 4}, {64, 64, 8}}) {
            int dv = shape[0], dx = shape[1], levels = shape[2];
            long seed = ROOT_SEED ^ (count * 43L + dv * 11L + dx * 7L + levels);
            SplittableRandom random = new SplittableRandom(seed);
            float[] vec = gaussian(random, catalog * dv, 0.2);
            float[] cross = gaussian(random, catalog * dx, 1);
            float[] u = gaussian(random, dv, 1);
            float[] x = gaussian(random, levels * codebookSize * dx, 1);
            int stride = (count + 63) & ~63;
            byte[] codes = new byte[levels * stride];
            random.nextBytes(codes);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment vecRows = segment(memory, arena, catalog * dv * 4L);
                MemorySegment crossRows = segment(memory, arena, catalog * dx * 4L);
                MemorySegment records = segment(memory, arena, catalog * (dv + dx) * 4L);
                MemorySegment.copy(vec, 0, vecRows, Layouts.F32, 0, vec.length);
                MemorySegment.copy(cross, 0, crossRows, Layouts.F32, 0, cross.length);
                for (int r = 0; r < catalog; r++) {
                    MemorySegment.copy(vec, r * dv, records, Layouts.F32, r * (dv + dx) * 4L, dv);
                    MemorySegment.copy(cross, r * dx, records, Layouts.F32, (r * (dv + dx) + dv) * 4L, dx);
                }
                int[] rows = random.ints(count, 0, catalog).toArray();
                float[][] fused = new float[2][];
                int k = 0;
                for (KernelSupport kernels : new KernelSupport[] {scalar, panama}) {
                    float[] dot = new float[count], crossDot = new float[count];
                    float[] out = new float[count], crossOut = new float[count];
                    kernels.dotRows(vecRows, dv, rows, count, u, 1.7f, -0.3f, dot);
                    kernels.crossScan(codes, stride, count, levels, codebookSize, x, dx, crossRows, rows, crossDot);
                    kernels.dotRowsCross(records, dv, dx, rows, count, u, 1.7f, -0.3f, codes, stride, levels, codebookSize,
                            x, out, crossOut);
                    String name = kernels.getClass().getSimpleName() + " dv " + dv + " dx " + dx + " L " + levels + seed(seed);
                    assertArrayEquals(dot, out, name);
                    assertArrayEquals(crossDot, crossOut, name);
                    fused[k++] = crossOut;
                }
                for (int i = 0; i < count; i++) {
                    assertEquals(fused[0][i], fused[1][i], 1e-4 * (1 + Math.abs(fused[0][i])) * dx * levels, "candidate " + i + seed(seed));
                }
            }
        }
    }

    /** A head whose every score is −∞ (no key to attend to) outputs zeros, whatever its values; the other heads do not. */
    @Test
    void aHeadWithOnlyMinusInfiniteScoresAttendsToNothing() {
        int heads = 4, dh = 16, d = heads * dh, n = 3;
        SplittableRandom random = new SplittableRandom(ROOT_SEED ^ 99);
        float[] raw = new float[n * d];
        for (int m = 0; m < n; m++) {
            raw[m * d] = 1f; // head 0's first component: q[0] · 1 = −∞ for every key
        }
        float[] values = gaussian(random, n * d, 1);
        AttentionKeys keys = new AttentionKeys(heads, dh, n, null);
        keys.fill(raw, values, gaussian(random, d, 1), n);
        float[] scores = new float[KernelSupport.scoresLength(keys)];
        // One query alone, and groups of queries (the kernels' lanes over queries) where every third one attends to
        // nothing in head 0 and the others score all keys 0.
        for (int count : new int[] {1, 9, 40}) {
            float[] queries = new float[count * d];
            for (int i = 0; i < count; i += 3) {
                queries[i * d] = Float.NEGATIVE_INFINITY;
            }
            for (KernelSupport kernels : new KernelSupport[] {scalar, panama}) {
                float[] out = new float[count * d];
                Arrays.fill(out, Float.NaN);
                kernels.attendValues(queries, count, keys, values, scores, out);
                for (int i = 0; i < count; i++) {
                    for (int c = 0; c < d; c++) {
                        // Head 0 attends to nothing for every third query; otherwise every key scores 0 and the
                        // values are averaged.
                        float mean = (values[c] + values[d + c] + values[2 * d + c]) / 3;
                        float expected = c < dh && i % 3 == 0 ? 0f : mean;
                        assertEquals(expected, out[i * d + c], 1e-5,
                                kernels.getClass().getSimpleName() + " query " + i + " entry " + c);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("attentionShapes")
    void attendValues(int n, int heads, int dh, boolean nullKey) {
        long seed = ROOT_SEED ^ (n * 137L + heads * 19L + dh + (nullKey ? 1 : 0));
        SplittableRandom random = new SplittableRandom(seed);
        int d = heads * dh;
        float[] values = new float[Math.max(n, 1) * d];
        AttentionKeys keys = keys(random, n, heads, dh, nullKey, values);
        for (int count : new int[] {1, 4, 5, 33}) {
            float[] queries = gaussian(random, count * d, 0.5);
            float[] expected = new float[count * d];
            float[] actual = new float[count * d];
            Arrays.fill(actual, Float.NaN); // the kernel must write every entry
            float[] scores = new float[KernelSupport.scoresLength(keys)];
            scalar.attendValues(queries, count, keys, values, scores, expected);
            panama.attendValues(queries, count, keys, values, scores, actual);
            for (int i = 0; i < count * d; i++) {
                assertEquals(expected[i], actual[i], 2e-5, "entry " + i + seed(seed));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("sizes")
    void lutScanU8IsExact(int count) {
        for (int levels = 1; levels <= 8; levels++) {
            long seed = ROOT_SEED ^ (count * 1009L + levels);
            SplittableRandom random = new SplittableRandom(seed);
            // Rows longer than the count too: a level's codes start at l · stride, not at l · count.
            int stride = ((count + 63) & ~63) + 64 * random.nextInt(3);
            byte[] codes = new byte[levels * stride];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = (byte) random.nextInt(256);
            }
            byte[] lut = new byte[levels * 256];
            for (int i = 0; i < lut.length; i++) {
                lut[i] = (byte) random.nextInt(256);
            }
            assertScanU8Equal(codes, stride, count, levels, lut, seed);
        }
    }

    /** Boundaries: all codes 0 or all 255 (K−1), and tables at the accumulator's overflow point (8 × 255). */
    @Test
    void lutScanU8Boundaries() {
        int count = 4099;
        int stride = (count + 63) & ~63;
        for (int code : new int[] {0, 255, 127, 128}) {
            for (int levels : new int[] {1, 3, 8}) {
                byte[] codes = new byte[levels * stride];
                Arrays.fill(codes, (byte) code);
                byte[] lut = new byte[levels * 256];
                Arrays.fill(lut, (byte) 255);
                short[] sums = assertScanU8Equal(codes, stride, count, levels, lut, code);
                assertEquals(255 * levels, Short.toUnsignedInt(sums[count - 1]), "all entries 255 at " + levels + " levels");
                for (int i = 0; i < lut.length; i++) {
                    lut[i] = (byte) (i & 255);
                }
                sums = assertScanU8Equal(codes, stride, count, levels, lut, code);
                assertEquals(code * levels, Short.toUnsignedInt(sums[0]));
            }
        }
    }

    /**
     * Every code 0..255 at every level, shuffled over the candidates, against random tables with 0 and 255 planted:
     * each of a level's sub-tables and each branch of the AVX2 form's blend tree is taken.
     */
    @ParameterizedTest
    @MethodSource("sizes")
    void lutScanU8EveryCode(int count) {
        for (int levels = 1; levels <= 4; levels++) {
            long seed = ROOT_SEED ^ (count * 3001L + levels);
            SplittableRandom random = new SplittableRandom(seed);
            int stride = ((count + 255) & ~63) + 64;
            byte[] codes = new byte[levels * stride];
            for (int l = 0; l < levels; l++) {
                for (int i = 0; i < stride; i++) {
                    codes[l * stride + i] = (byte) ((i + 17 * l) & 255);
                }
                for (int i = stride - 1; i > 0; i--) { // Fisher-Yates within the level's row
                    int j = random.nextInt(i + 1);
                    byte t = codes[l * stride + i];
                    codes[l * stride + i] = codes[l * stride + j];
                    codes[l * stride + j] = t;
                }
            }
            byte[] lut = new byte[levels * 256];
            random.nextBytes(lut);
            for (int l = 0; l < levels; l++) {
                lut[l * 256] = 0;
                lut[l * 256 + 255] = (byte) 255;
                lut[l * 256 + 128] = (byte) 255;
                lut[l * 256 + 127] = 0;
            }
            // The whole padded row, so that every code is looked up, then the count asked for.
            assertScanU8Equal(codes, stride, stride, levels, lut, seed);
            assertScanU8Equal(codes, stride, count, levels, lut, seed);
        }
    }

    private static short[] assertScanU8Equal(byte[] codes, int stride, int count, int levels, byte[] lut, long seed) {
        short[] expected = new short[stride];
        short[] actual = new short[stride];
        scalar.lutScanU8(codes, stride, count, levels, lut, expected);
        panama.lutScanU8(codes, stride, count, levels, lut, actual);
        for (int i = 0; i < count; i++) {
            assertEquals(expected[i], actual[i], "candidate " + i + " of " + count + ", L = " + levels + seed(seed));
        }
        return actual;
    }

    @ParameterizedTest
    @MethodSource("sizes")
    void lutScanF32IsExact(int count) {
        for (int codebookSize : new int[] {2, 16, 256}) {
            int levels = 3;
            long seed = ROOT_SEED ^ (count * 2003L + codebookSize);
            SplittableRandom random = new SplittableRandom(seed);
            int stride = (count + 63) & ~63;
            byte[] codes = new byte[levels * stride];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = (byte) random.nextInt(codebookSize);
            }
            float[] lut = gaussian(random, levels * codebookSize, 1);
            float[] base = gaussian(random, count, 1);
            float[] expected = base.clone();
            float[] actual = base.clone();
            scalar.lutScanF32(codes, stride, count, levels, codebookSize, lut, expected);
            panama.lutScanF32(codes, stride, count, levels, codebookSize, lut, actual);
            assertArrayEquals(expected, actual, "K = " + codebookSize + seed(seed));
        }
    }

    @Test
    void theExpectedImplementationIsActive() {
        // Provider guard: the suite runs with --add-modules jdk.incubator.vector on HotSpot with C2, so Panama must be
        // active unless the scalar execution forces scalar; and the byte-table path must match the CPU and UseAVX.
        boolean forcedScalar = "scalar".equals(System.getProperty(Kernels.PROPERTY));
        assertEquals(forcedScalar ? "scalar" : "panama", Kernels.implementationName(), Kernels.describe());
        assertTrue(Kernels.describe().startsWith(Kernels.implementationName()));
        boolean avx2Only = java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().contains("-XX:UseAVX=2");
        io.tarq.engine.kernel.panama.PanamaKernels p = (io.tarq.engine.kernel.panama.PanamaKernels) panama;
        assertEquals(!avx2Only && CpuFeatures.cpuFlag("avx512vbmi"), p.byteTablesInRegisters(), p.description());
        // Panama runs only with vectors of 256 bits or more, so without VBMI the scan takes the 256-bit shuffle form.
        assertEquals(!p.byteTablesInRegisters(), p.byteTablesShuffled(), p.description());
        assertTrue(p.description().contains("uint8 tables in registers"), p.description());
    }
}
