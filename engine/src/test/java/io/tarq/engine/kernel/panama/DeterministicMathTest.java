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
            DeterministicMath.exp2(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, 0)).intoArray(y, 0);
            for (int j = 0; j < LANES; j++) {
                double exact = Math.pow(2, x[j]);
                worst = Math.max(worst, Math.abs(y[j] - exact) / exact);
            }
        }
        assertTrue(worst < 3e-7, "worst relative error " + worst);
        DeterministicMath.exp2(FloatVector.broadcast(FloatVector.SPECIES_PREFERRED, 0f)).intoArray(y, 0);
        assertEquals(1f, y[0]);
        DeterministicMath.exp2(FloatVector.broadcast(FloatVector.SPECIES_PREFERRED, -1f)).intoArray(y, 0);
        assertEquals(0.5f, y[0]);
        DeterministicMath.exp2(FloatVector.broadcast(FloatVector.SPECIES_PREFERRED, -1000f)).intoArray(y, 0);
        assertTrue(y[0] >= 0 && y[0] < 1e-37f, "very negative inputs flush to about 1e-38, got " + y[0]);
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
            FloatVector v = FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, 0);
            DeterministicMath.exp2InRange(v).intoArray(y, 0);
            DeterministicMath.exp2(v).intoArray(clamped, 0);
            for (int j = 0; j < LANES; j++) {
                double exact = Math.pow(2, x[j]);
                worst = Math.max(worst, Math.abs(y[j] - exact) / exact);
                if (x[j] <= 0) {
                    assertEquals(Float.floatToRawIntBits(clamped[j]), Float.floatToRawIntBits(y[j]), "x = " + x[j]);
                }
            }
        }
        assertTrue(worst < 3e-7, "worst relative error " + worst);
        DeterministicMath.exp2InRange(FloatVector.broadcast(FloatVector.SPECIES_PREFERRED, 64f)).intoArray(y, 0);
        assertEquals(0x1p64f, y[0]);
        DeterministicMath.exp2InRange(FloatVector.broadcast(FloatVector.SPECIES_PREFERRED, -126f)).intoArray(y, 0);
        assertEquals(0x1p-126f, y[0]);
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
