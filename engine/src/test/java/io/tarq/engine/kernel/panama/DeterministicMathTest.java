package io.tarq.engine.kernel.panama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.kernel.AttentionKeys;
import io.tarq.layout.Layouts;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class DeterministicMathTest {
    private static final int LANES = FloatVector.SPECIES_PREFERRED.length();

    @Test
    void exp2IsWithinTwoTenthsOfAMillionthOfMathPow() {
        SplittableRandom random = new SplittableRandom(1);
        float[] x = new float[LANES];
        float[] y = new float[LANES];
        double worst = 0;
        for (int i = 0; i < 200_000; i++) {
            for (int j = 0; j < LANES; j++) {
                x[j] = (float) (random.nextDouble() * -126); // the softmax range: x = s − max ≤ 0
            }
            System.arraycopy(x, 0, y, 0, LANES);
            DeterministicMath.exp2Rows(y, 0, LANES, 1);
            for (int j = 0; j < LANES; j++) {
                double exact = Math.pow(2, x[j]);
                worst = Math.max(worst, Math.abs(y[j] - exact) / exact);
            }
        }
        assertTrue(worst < 3e-7, "worst relative error " + worst);
        assertEquals(1f, exp2Lane(0f, true));
        assertEquals(0.5f, exp2Lane(-1f, true));
        float tiny = exp2Lane(-1000f, true);
        assertTrue(tiny >= 0 && tiny < 1e-37f, "very negative inputs flush to about 1e-38, got " + tiny);
    }

    @Test
    void exp2InRangeCoversPositiveArgumentsToo() {
        SplittableRandom random = new SplittableRandom(2);
        float[] x = new float[LANES];
        float[] y = new float[LANES];
        float[] clamped = new float[LANES];
        double worst = 0;
        for (int i = 0; i < 200_000; i++) {
            for (int j = 0; j < LANES; j++) {
                x[j] = (float) (random.nextDouble() * 252 - 126); // a bounded softmax's scores, unshifted
            }
            System.arraycopy(x, 0, y, 0, LANES);
            System.arraycopy(x, 0, clamped, 0, LANES);
            DeterministicMath.exp2InRangeRows(y, 0, LANES, 1);
            DeterministicMath.exp2Rows(clamped, 0, LANES, 1);
            for (int j = 0; j < LANES; j++) {
                double exact = Math.pow(2, x[j]);
                worst = Math.max(worst, Math.abs(y[j] - exact) / exact);
                if (x[j] <= 0) {
                    assertEquals(Float.floatToRawIntBits(clamped[j]), Float.floatToRawIntBits(y[j]), "x = " + x[j]);
                }
            }
        }
        assertTrue(worst < 3e-7, "worst relative error " + worst);
        assertEquals(0x1p64f, exp2Lane(64f, false));
        assertEquals(0x1p-126f, exp2Lane(-126f, false));
    }

    /** The kernels exponentiate strided rows of a scratch array: each row in place, nothing between them touched. */
    @Test
    void exp2RowsTouchesOnlyItsRows() {
        SplittableRandom random = new SplittableRandom(5);
        int step = 3 * LANES, rows = 7, first = 5;
        float[] a = new float[first + rows * step];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (random.nextDouble() * -20);
        }
        float[] before = a.clone();
        DeterministicMath.exp2Rows(a, first, step, rows);
        for (int i = 0; i < a.length; i++) {
            int r = (i - first) / step, lane = (i - first) % step;
            boolean inRow = i >= first && r < rows && lane < LANES;
            float expected = inRow ? exp2Lane(before[i], true) : before[i];
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(a[i]), "float " + i);
        }
    }

    /** The array sum is the vector sum of the lane-wise running sums, bit for bit, whatever the count. */
    @Test
    void arraySumIsTheLaneSumsThenTheTree() {
        SplittableRandom random = new SplittableRandom(6);
        for (int trial = 0; trial < 20_000; trial++) {
            int count = random.nextInt(0, 5 * LANES), from = random.nextInt(0, 4);
            float[] a = new float[from + count]; // no room past count: the tail load must be masked
            for (int i = 0; i < a.length; i++) { // magnitudes 2^-20..2^20: any other order of adds rounds differently
                a[i] = (float) (random.nextGaussian() * Math.scalb(1.0, random.nextInt(-20, 21)));
            }
            float[] lanes = new float[LANES];
            for (int m = 0; m < count; m++) {
                lanes[m % LANES] += a[from + m];
            }
            float expected = DeterministicMath.sum(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, lanes, 0));
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(DeterministicMath.sum(a, from, count)),
                    "count " + count + " of trial " + trial);
        }
    }

    /** 2^x of one value, through a row of equal lanes. */
    private static float exp2Lane(float x, boolean clamp) {
        float[] row = new float[LANES];
        java.util.Arrays.fill(row, x);
        if (clamp) {
            DeterministicMath.exp2Rows(row, 0, LANES, 1);
        } else {
            DeterministicMath.exp2InRangeRows(row, 0, LANES, 1);
        }
        return row[0];
    }

    @Test
    void sumAddsEveryLane() {
        float[] v = new float[LANES];
        for (int j = 0; j < LANES; j++) {
            v[j] = 1 << j;
        }
        assertEquals((1 << LANES) - 1, DeterministicMath.sum(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, v, 0)));
    }

    /**
     * The reason for this class: a kernel's result must not change when C2 compiles it. The first call runs
     * interpreted; after warm-up the same call must give the same bits.
     */
    @Test
    void kernelResultsDoNotChangeWhenTheJitWarmsUp() {
        SplittableRandom random = new SplittableRandom(3);
        int heads = 4, dh = 16, d = 64, n = 37, count = 40;
        AttentionKeys keys = new AttentionKeys(heads, dh, n, gaussian(random, d));
        keys.fill(gaussian(random, n * d), gaussian(random, n * d), gaussian(random, d), n);
        float[] queries = gaussian(random, count * d);
        for (int i = 16 * d; i < 24 * d; i++) {
            queries[i] *= 40; // queries 16..23: scores in the hundreds, the softmax with its max
        }
        float[] blocked = new float[io.tarq.engine.kernel.QueryBlocks.length(count, d)];
        io.tarq.engine.kernel.QueryBlocks.block(queries, 0, count, d, blocked);
        float[] values = gaussian(random, n * d);
        float[] scores = new float[io.tarq.engine.kernel.KernelSupport.scoresLength(keys)];
        MemorySegment vec = MemorySegment.ofArray(new float[500 * d]);
        MemorySegment.copy(gaussian(random, 500 * d), 0, vec, Layouts.F32, 0, 500 * d);
        int[] rows = random.ints(count, 0, 500).toArray();
        float[] u = gaussian(random, d);
        int dx = 16, levels = 3, codebookSize = 256;
        AttentionKeys crossKeys = new AttentionKeys(heads, dh, n, gaussian(random, d), dx);
        crossKeys.fill(gaussian(random, n * d), gaussian(random, n * d), gaussian(random, d), n);
        System.arraycopy(gaussian(random, n * heads * dx), 0, crossKeys.crossU, 0, n * heads * dx);
        float[] crossScores = new float[io.tarq.engine.kernel.KernelSupport.scoresLength(crossKeys)];
        float[] table = gaussian(random, levels * codebookSize * dx);
        int stride = 64;
        byte[] codes = new byte[levels * stride];
        random.nextBytes(codes);
        MemorySegment crossRows = MemorySegment.ofArray(new float[500 * dx]);
        MemorySegment.copy(gaussian(random, 500 * dx), 0, crossRows, Layouts.F32, 0, 500 * dx);

        PanamaKernels kernels = new PanamaKernels();
        float[] crossReadoutsCold = new float[count];
        float[] crossCold = new float[count * dx];
        float[] crossTermsCold = new float[count];
        kernels.attendRowsCross(blocked, count, crossKeys, crossScores, crossReadoutsCold, crossCold);
        kernels.crossScan(codes, stride, count, levels, codebookSize, table, dx, crossRows, rows, crossTermsCold);
        float[] readoutsCold = new float[count];
        float[] valuesCold = new float[count * d];
        float[] dotsCold = new float[count];
        kernels.attendRows(blocked, count, keys, scores, readoutsCold);
        kernels.attendValues(queries, count, keys, values, scores, valuesCold);
        kernels.dotRows(vec, d, rows, count, u, 1.5f, 0.25f, dotsCold);

        float[] readouts = new float[count];
        float[] attended = new float[count * d];
        float[] dots = new float[count];
        float[] crossReadouts = new float[count];
        float[] cross = new float[count * dx];
        float[] crossTerms = new float[count];
        for (int i = 0; i < 3000; i++) {
            kernels.attendRowsCross(blocked, count, crossKeys, crossScores, crossReadouts, cross);
            kernels.crossScan(codes, stride, count, levels, codebookSize, table, dx, crossRows, rows, crossTerms);
            kernels.attendRows(blocked, count, keys, scores, readouts);
            kernels.attendValues(queries, count, keys, values, scores, attended);
            kernels.dotRows(vec, d, rows, count, u, 1.5f, 0.25f, dots);
        }
        assertArrayEquals(readoutsCold, readouts);
        assertArrayEquals(valuesCold, attended);
        assertArrayEquals(dotsCold, dots);
        assertArrayEquals(crossReadoutsCold, crossReadouts);
        assertArrayEquals(crossCold, cross);
        assertArrayEquals(crossTermsCold, crossTerms);
    }

    @Test
    void eightSumsAtOnceAreEachVectorsOwnSumBitForBit() {
        SplittableRandom random = new SplittableRandom(3);
        FloatVector[] a = new FloatVector[DeterministicMath.GROUP];
        float[] lanes = new float[LANES];
        float[] sums = new float[LANES];
        for (int trial = 0; trial < 20_000; trial++) {
            for (int g = 0; g < a.length; g++) {
                for (int j = 0; j < LANES; j++) { // magnitudes 2^-20..2^20: any other order of adds rounds differently
                    lanes[j] = (float) (random.nextGaussian() * Math.scalb(1.0, random.nextInt(-20, 21)));
                }
                a[g] = FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, lanes, 0);
            }
            DeterministicMath.sums(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]).intoArray(sums, 0);
            for (int g = 0; g < a.length; g++) {
                assertEquals(Float.floatToRawIntBits(DeterministicMath.sum(a[g])), Float.floatToRawIntBits(sums[g]),
                        "vector " + g + " of trial " + trial);
            }
        }
    }

    /**
     * dotRows and dotRowsSq8 reduce eight rows together and the rest one at a time; every row must come out as its
     * own FMA chain and {@link DeterministicMath#sum} give it, whichever way it went.
     */
    @Test
    void groupedDotProductsKeepEachRowsBits() {
        SplittableRandom random = new SplittableRandom(4);
        PanamaKernels kernels = new PanamaKernels();
        int catalog = 200;
        for (int dim : new int[] {LANES, 64, 80, LANES * 3 + 3}) {
            float[] table = gaussian(random, catalog * dim);
            byte[] bytes = new byte[catalog * dim];
            random.nextBytes(bytes);
            MemorySegment vec = MemorySegment.ofArray(new float[catalog * dim]);
            MemorySegment.copy(table, 0, vec, Layouts.F32, 0, table.length);
            MemorySegment sq8 = MemorySegment.ofArray(bytes);
            float[] u = gaussian(random, dim);
            for (int count : new int[] {1, 7, 8, 9, 23, 300, 517}) {
                int[] rows = random.ints(count, 0, catalog).toArray();
                float[] dots = new float[count];
                kernels.dotRows(vec, dim, rows, count, u, 1.5f, 0.25f, dots);
                for (int i = 0; i < count; i++) {
                    assertEquals(Float.floatToRawIntBits(rowDot(table, rows[i], dim, u, 1.5f, 0.25f)),
                            Float.floatToRawIntBits(dots[i]), "float row " + i + " of " + count + ", dim " + dim);
                }
                if (dim % LANES == 0) { // an 8-bit row's stride is whole vectors
                    kernels.dotRowsSq8(sq8, dim, rows, count, u, 1.5f, 0.25f, dots);
                    for (int i = 0; i < count; i++) {
                        float[] widened = new float[dim];
                        for (int k = 0; k < dim; k++) {
                            widened[k] = bytes[rows[i] * dim + k];
                        }
                        assertEquals(Float.floatToRawIntBits(rowDot(widened, 0, dim, u, 1.5f, 0.25f)),
                                Float.floatToRawIntBits(dots[i]), "8-bit row " + i + " of " + count + ", dim " + dim);
                    }
                }
            }
        }
    }

    /** scale · ⟨row, u⟩ + shift as one FMA chain a vector, then sum, then the scalar tail. */
    private static float rowDot(float[] table, int row, int dim, float[] u, float scale, float shift) {
        FloatVector acc = FloatVector.zero(FloatVector.SPECIES_PREFERRED);
        int vectorEnd = dim - dim % LANES;
        for (int j = 0; j < vectorEnd; j += LANES) {
            acc = FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, table, row * dim + j)
                    .fma(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, u, j), acc);
        }
        float dot = DeterministicMath.sum(acc);
        for (int j = vectorEnd; j < dim; j++) {
            dot += u[j] * table[row * dim + j];
        }
        return scale * dot + shift;
    }

    private static float[] gaussian(SplittableRandom random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }
}
