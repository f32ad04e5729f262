package io.tarq.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.synth.SyntheticModel;
import io.tarq.layout.Layouts;
import io.tarq.layout.ModelFormatException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link ItemVectors#SQ8}: the quantizer's round trip, its refusal of non-finite rows, and what it changes in a
 * scorer's results: the two-tower term moves by at most τ·‖step‖/2, exact TA and the cascade's re-scoring not at all,
 * and uint8 TARQ on the 8-bit rows still keeps 0.98 of the float model's top-100.
 */
class QuantizedItemVectorsTest {
    @TempDir
    static Path dir;

    /** EngineParityTest's models: plain, null keys, the DIN head, small dimensions (dv = 16). */
    static Stream<Arguments> cases() {
        return EngineParityTest.cases();
    }

    private static KernelSupport kernels(String name) {
        return EngineParityTest.kernels(name);
    }

    @Test
    void componentsComeBackWithinHalfAStep() throws IOException {
        int rows = 257, dim = 24;
        SplittableRandom random = new SplittableRandom(5);
        float[] table = new float[rows * dim];
        for (int i = 0; i < table.length; i++) {
            int k = i % dim;
            table[i] = k == 3 ? 0.25f                                   // a constant dimension: exact
                    : k == 5 ? (float) (1e-3 * random.nextGaussian())   // a narrow one
                    : (float) (random.nextGaussian() * (1 + k));
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vec = arena.allocate(4L * table.length, 64);
            MemorySegment.copy(table, 0, vec, Layouts.F32, 0, table.length);
            QuantizedItemVectors q = QuantizedItemVectors.build(Path.of("t"), "item.vec", vec, rows, dim, arena);
            assertEquals(32, q.stride());
            float[] min = new float[dim], max = new float[dim];
            Arrays.fill(min, Float.POSITIVE_INFINITY);
            Arrays.fill(max, Float.NEGATIVE_INFINITY);
            for (int i = 0; i < table.length; i++) {
                min[i % dim] = Math.min(min[i % dim], table[i]);
                max[i % dim] = Math.max(max[i % dim], table[i]);
            }
            boolean sawBothEnds = false;
            for (int r = 0; r < rows; r++) {
                for (int k = 0; k < q.stride(); k++) {
                    byte b = q.rows().get(ValueLayout.JAVA_BYTE, (long) r * q.stride() + k);
                    if (k >= dim) {
                        assertEquals(0, b, "padding of row " + r);
                        continue;
                    }
                    assertTrue(b >= -127, "byte " + b + " is below -127");
                    double step = ((double) max[k] - min[k]) / 254, mid = ((double) max[k] + min[k]) / 2;
                    double back = mid + step * b;
                    double v = table[r * dim + k];
                    assertEquals(v, back, step / 2 * (1 + 1e-5) + 1e-7, "row " + r + " component " + k);
                    sawBothEnds |= v == max[k] && b == 127;
                }
            }
            assertTrue(sawBothEnds, "a dimension's maximum maps to 127");
            // û = e_k: the bound is ‖step‖/2 ≥ step_k/2.
            float[] unit = new float[dim];
            unit[0] = 1;
            assertEquals((max[0] - min[0]) / 254.0 / 2, q.errorBound(unit), 1e-6);
            assertTrue(q.unitErrorBound() >= q.errorBound(unit));
        }
    }

    @Test
    void aNonFiniteComponentIsRefusedNamingItsRow() {
        int rows = 9, dim = 16;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vec = arena.allocate(4L * rows * dim, 64);
            vec.set(Layouts.F32, 4L * (5 * dim + 3), Float.NaN);
            ModelFormatException e = assertThrows(ModelFormatException.class,
                    () -> QuantizedItemVectors.build(Path.of("m.safetensors"), "item.vec", vec, rows, dim, arena));
            assertEquals("m.safetensors: tensor item.vec: row 5 component 3 is NaN: the sq8 item vectors need finite rows",
                    e.getMessage());
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void onlyTheScannedTwoTowerTermMovesAndWithinItsBound(EngineParityTest.Variant variant, String kernelName) throws IOException {
        try (TarqModel exact = TarqModel.open(variant.file(dir), kernels(kernelName));
             TarqModel sq8 = TarqModel.open(variant.file(dir), kernels(kernelName), ItemVectors.SQ8)) {
            assertEquals(ItemVectors.SQ8, sq8.itemVectors());
            double bound = Math.abs(sq8.weights().tau) * sq8.quantizedVectors().unitErrorBound();
            Scorer a = exact.newScorer(), b = sq8.newScorer();
            SplittableRandom random = new SplittableRandom(3);
            int items = variant.spec.items();
            int[] candidates = new int[items];
            Arrays.setAll(candidates, i -> i);
            float[] x = new float[items], y = new float[items];
            for (int r = 0; r < 6; r++) {
                int[] history = random.ints(random.nextInt(40), 0, items).toArray();
                int user = random.nextInt(variant.spec.users());
                for (Mode mode : new Mode[] {Mode.TT, Mode.TARQ_F32, Mode.TARQ}) {
                    a.scoreRows(mode, user, history, candidates, x);
                    b.scoreRows(mode, user, history, candidates, y);
                    for (int i = 0; i < items; i++) {
                        double tolerance = bound + 1e-5 * Math.max(1, Math.abs(x[i]));
                        assertEquals(x[i], y[i], tolerance, variant + " " + mode + " candidate " + i);
                    }
                }
                a.scoreRows(Mode.TA, user, history, candidates, x);
                b.scoreRows(Mode.TA, user, history, candidates, y);
                assertEquals(Arrays.toString(x), Arrays.toString(y), "exact TA reads the float rows");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void uint8TarqOnSq8RowsKeepsTheFloatTop100(EngineParityTest.Variant variant, String kernelName) throws IOException {
        try (TarqModel exact = TarqModel.open(variant.file(dir), kernels(kernelName));
             TarqModel sq8 = TarqModel.open(variant.file(dir), kernels(kernelName), ItemVectors.SQ8)) {
            Scorer a = exact.newScorer(), b = sq8.newScorer();
            SplittableRandom random = new SplittableRandom(99);
            int items = variant.spec.items();
            int[] candidates = new int[items];
            Arrays.setAll(candidates, i -> i);
            float[] f32 = new float[items], u8 = new float[items];
            double overlapSum = 0;
            int requests = 10;
            for (int r = 0; r < requests; r++) {
                int[] history = random.ints(30, 0, items).toArray();
                int user = random.nextInt(variant.spec.users());
                a.scoreRows(Mode.TARQ_F32, user, history, candidates, f32);
                b.scoreRows(Mode.TARQ, user, history, candidates, u8);
                Set<Integer> top = EngineParityTest.topIndices(f32, 100);
                top.retainAll(EngineParityTest.topIndices(u8, 100));
                overlapSum += top.size() / 100.0;
            }
            double overlap = overlapSum / requests;
            // Two quantizations now (the table's and the rows'): 0.989 to 0.998 on these models, where uint8 tables alone
            // keep at least 0.99 (EngineParityTest). The opt-in is held to 0.98.
            assertTrue(overlap >= 0.98, variant + "/" + kernelName + ": sq8 + uint8 top-100 keeps " + overlap
                    + " of the float top-100");
        }
    }

    @Test
    void theCascadeRescoresWithExactTa() throws IOException {
        Path file = EngineParityTest.Variant.PLAIN.file(dir);
        try (TarqModel exact = TarqModel.open(file); TarqModel sq8 = TarqModel.open(file, ItemVectors.SQ8)) {
            Scorer a = exact.newScorer(), b = sq8.newScorer();
            SplittableRandom random = new SplittableRandom(8);
            long[] history = random.longs(20, 0, 3000).map(SyntheticModel::itemId).toArray();
            long[] candidates = random.longs(1500, 0, 3000).map(SyntheticModel::itemId).toArray();
            long user = SyntheticModel.userId(3);
            TopK best = b.rescoreTopK(user, history, candidates, 200, 10, new TopK());
            float[] ta = new float[candidates.length];
            a.score(Mode.TA, user, history, candidates, ta);
            for (int i = 0; i < best.size; i++) {
                assertEquals(ta[best.positions[i]], best.scores[i], "rank " + i + ": exact TA's logit");
            }
        }
    }

    @Test
    void aScorerOfAClosedSq8ModelThrows() throws IOException {
        TarqModel sq8 = TarqModel.open(EngineParityTest.Variant.PLAIN.file(dir), ItemVectors.SQ8);
        Scorer scorer = sq8.newScorer();
        sq8.close();
        assertThrows(IllegalStateException.class,
                () -> scorer.scoreRows(Mode.TT, 0, new int[] {1}, new int[] {2, 3}, new float[2]));
    }

    @Test
    void anEngineServesTheItemVectorsItWasBuiltWith() throws IOException {
        Path file = EngineParityTest.Variant.PLAIN.file(dir);
        TarqEngine engine = TarqEngine.builder().itemVectors(ItemVectors.SQ8).open(file);
        try (TarqModel sq8 = TarqModel.open(file, ItemVectors.SQ8)) {
            long[] history = {SyntheticModel.itemId(1), SyntheticModel.itemId(2)};
            long[] candidates = {SyntheticModel.itemId(5), SyntheticModel.itemId(6), SyntheticModel.itemId(7)};
            float[] x = new float[3], y = new float[3];
            engine.score(Mode.TT, SyntheticModel.userId(0), history, candidates, x);
            sq8.newScorer().score(Mode.TT, SyntheticModel.userId(0), history, candidates, y);
            assertEquals(Arrays.toString(y), Arrays.toString(x));
        } finally {
            engine.close();
        }
    }
}
