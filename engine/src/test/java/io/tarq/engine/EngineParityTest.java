package io.tarq.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.KernelsTestSupport;
import io.tarq.engine.kernel.ScalarKernels;
import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.layout.TarqModelFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The engine against a plain double-precision implementation of the contract ({@link ReferenceTarq}, written from the
 * formulas, not through the serving identity): TT, TA and TARQ_F32 within 1e-4 relative, TARQ (uint8) keeping at
 * least 0.99 of the float top-100. For both kernel implementations, models with and without null keys, with the
 * DIN-style teacher head and with the cross head (format version 2, dx from 5 to d), histories from empty to longer
 * than n_max.
 */
class EngineParityTest {
    @TempDir
    static Path dir;

    enum Variant {
        PLAIN(SyntheticModelSpec.defaults(3000).withUsers(40).withNMax(60)),
        NULL_KEYS(SyntheticModelSpec.defaults(3000).withUsers(40).withNMax(60).withNullKeys(true).withSeed(7)),
        DIN_HEAD(SyntheticModelSpec.defaults(3000).withUsers(40).withNMax(60).withNullKeys(true).withTaMlpHidden(48).withSeed(8)),
        SMALL_DIMS(new SyntheticModelSpec(500, 10, 32, 2, 16, 24, 20, 2, 16, false, 0, 9)),
        CROSS_HEAD(SyntheticModelSpec.defaults(3000).withUsers(40).withNMax(60).withNullKeys(true).withCrossDim(16).withSeed(10)),
        CROSS_HEAD_ODD(new SyntheticModelSpec(500, 10, 32, 2, 16, 24, 20, 2, 16, false, 0, 11).withCrossDim(5)),
        CROSS_HEAD_FULL(SyntheticModelSpec.defaults(2000).withUsers(20).withNMax(60).withCrossDim(64).withSeed(12));

        final SyntheticModelSpec spec;

        Variant(SyntheticModelSpec spec) {
            this.spec = spec;
        }

        /** This variant's model file in {@code directory}, written on first use. */
        Path file(Path directory) throws IOException {
            Path p = directory.resolve(name() + ".safetensors");
            if (!p.toFile().exists()) {
                SyntheticModel.write(spec, p);
            }
            return p;
        }
    }

    static Stream<Arguments> cases() {
        return Stream.of(Variant.values()).flatMap(v -> Stream.of("scalar", "panama").map(k -> Arguments.of(v, k)));
    }

    static KernelSupport kernels(String name) {
        return name.equals("scalar") ? ScalarKernels.INSTANCE : KernelsTestSupport.panama();
    }

    /** |engine − reference| ≤ 1e-4 · max(1, |reference|). */
    private static void assertClose(double expected, float actual, String what) {
        double tolerance = 1e-4 * Math.max(1, Math.abs(expected));
        assertTrue(Math.abs(expected - actual) <= tolerance, what + ": engine " + actual + ", reference " + expected);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void everyModeMatchesTheReference(Variant variant, String kernelName) throws IOException {
        try (TarqModel model = TarqModel.open(variant.file(dir), kernels(kernelName));
             TarqModelFile file = TarqModelFile.open(variant.file(dir))) {
            ReferenceTarq reference = new ReferenceTarq(file);
            Scorer scorer = model.newScorer();
            SplittableRandom random = new SplittableRandom(variant.ordinal() * 100 + kernelName.length());
            int items = variant.spec.items();
            int nMax = variant.spec.nMax();
            for (int n : new int[] {0, 1, 2, 17, nMax, nMax + 5}) {
                int userRow = random.nextInt(variant.spec.users());
                int[] history = random.ints(n, 0, items).toArray();
                int[] candidates = random.ints(150, 0, items).toArray();
                int used = Math.min(n, nMax);
                ReferenceTarq.UserSide user = reference.user(userRow, Arrays.copyOfRange(history, n - used, n));
                float[] out = new float[candidates.length];
                for (Mode mode : new Mode[] {Mode.TT, Mode.TARQ_F32, Mode.TA}) {
                    scorer.scoreRows(mode, userRow, history, candidates, out);
                    for (int i = 0; i < candidates.length; i++) {
                        double expected = switch (mode) {
                            case TT -> reference.tt(user, candidates[i]);
                            case TARQ_F32 -> reference.tarq(user, candidates[i]);
                            case TA -> reference.ta(user, candidates[i]);
                            default -> throw new AssertionError();
                        };
                        assertClose(expected, out[i], variant + "/" + kernelName + " " + mode + " n=" + n + " candidate " + i);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void uint8TablesKeepTheFloatTop100(Variant variant, String kernelName) throws IOException {
        try (TarqModel model = TarqModel.open(variant.file(dir), kernels(kernelName))) {
            Scorer scorer = model.newScorer();
            SplittableRandom random = new SplittableRandom(99);
            int items = variant.spec.items();
            int[] candidates = new int[items];
            Arrays.setAll(candidates, i -> i);
            float[] f32 = new float[items];
            float[] u8 = new float[items];
            double overlapSum = 0;
            int requests = 10;
            for (int r = 0; r < requests; r++) {
                int[] history = random.ints(30, 0, items).toArray();
                int userRow = random.nextInt(variant.spec.users());
                scorer.scoreRows(Mode.TARQ_F32, userRow, history, candidates, f32);
                scorer.scoreRows(Mode.TARQ, userRow, history, candidates, u8);
                Set<Integer> top = topIndices(f32, 100);
                top.retainAll(topIndices(u8, 100));
                overlapSum += top.size() / 100.0;
                for (int i = 0; i < items; i++) {
                    // Quantization error is bounded by L half-steps of the table's scale; loose sanity bound here.
                    assertEquals(f32[i], u8[i], 0.5, "candidate " + i);
                }
            }
            double overlap = overlapSum / requests;
            assertTrue(overlap >= 0.99, variant + "/" + kernelName + ": uint8 top-100 keeps " + overlap + " of the float top-100");
        }
    }

    static Set<Integer> topIndices(float[] scores, int k) {
        Integer[] order = new Integer[scores.length];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> Float.compare(scores[b], scores[a]));
        return new HashSet<>(Arrays.asList(order).subList(0, k));
    }
}
