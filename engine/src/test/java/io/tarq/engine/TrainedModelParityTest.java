package io.tarq.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.KernelsTestSupport;
import io.tarq.engine.kernel.ScalarKernels;
import io.tarq.layout.ModelFormatException;
import io.tarq.layout.safetensors.SafetensorsFile;
import io.tarq.layout.safetensors.TensorView;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The engine against PyTorch: models trained and exported by the trainer, with the live torch model's logits for a set
 * of requests (unknown users, unknown and too many behaviours, empty histories), committed under
 * {@code src/test/resources/parity} by {@code ./tarq parity-fixtures} ({@code tarq.train.parity}).
 *
 * <p>TT, TA and TARQ with float tables within 1e-4 · max(1, |logit|); TARQ with uint8 tables by its top-10 overlap with
 * PyTorch's TARQ top-10 (the tables are quantized, so equal logits are not expected).
 */
class TrainedModelParityTest {
    private static final int TOP = 10;

    static Stream<Arguments> cases() {
        return Stream.of("readout", "din", "cross").flatMap(m -> Stream.of("scalar", "panama").map(k -> Arguments.of(m, k)));
    }

    private static Path resource(String name) throws URISyntaxException {
        var url = TrainedModelParityTest.class.getResource("/parity/" + name);
        if (url == null) {
            throw new IllegalStateException("missing test resource parity/" + name + ": run ./tarq parity-fixtures");
        }
        return Path.of(url.toURI());
    }

    private static KernelSupport kernels(String name) {
        return name.equals("scalar") ? ScalarKernels.INSTANCE : KernelsTestSupport.panama();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void engineMatchesPyTorch(String model, String kernelName) throws Exception {
        try (TarqModel tarq = TarqModel.open(resource(model + ".safetensors"), kernels(kernelName));
             SafetensorsFile expected = SafetensorsFile.open(resource(model + ".expected.safetensors"))) {
            Requests requests = Requests.read(expected);
            int count = requests.count();
            float[][] torch = {
                expected.tensor("logits.tt").toFloatArray(),
                expected.tensor("logits.ta").toFloatArray(),
                expected.tensor("logits.tarq").toFloatArray()
            };
            Mode[] modes = {Mode.TT, Mode.TA, Mode.TARQ_F32};

            Scorer scorer = tarq.newScorer();
            float[] out = new float[count];
            double overlap = 0;
            for (int r = 0; r < requests.size(); r++) {
                long[] history = requests.history(r);
                long[] cands = requests.candidates(r);
                for (int m = 0; m < modes.length; m++) {
                    scorer.score(modes[m], requests.users()[r], history, cands, out);
                    assertWithin(model + " " + modes[m], out, torch[m], r, 0);
                }
                scorer.score(Mode.TARQ, requests.users()[r], history, cands, out);
                overlap += overlap(top(out), top(Arrays.copyOfRange(torch[2], r * count, (r + 1) * count)));
            }
            double meanOverlap = overlap / requests.size();
            assertTrue(meanOverlap >= 0.9, model + ": uint8 TARQ keeps only " + meanOverlap + " of PyTorch's top-" + TOP);
        }
    }

    /**
     * The 8-bit item vectors on trained models: TT and TARQ_F32 within PyTorch's tolerance plus the copy's stated
     * bound τ·‖step‖/2; exact TA reads the float rows, so its tolerance is PyTorch's alone.
     */
    @ParameterizedTest
    @MethodSource("cases")
    void eightBitItemVectorsStayWithinTheirBoundOfPyTorch(String model, String kernelName) throws Exception {
        try (TarqModel tarq = TarqModel.open(resource(model + ".safetensors"), kernels(kernelName), ItemVectors.SQ8);
             SafetensorsFile expected = SafetensorsFile.open(resource(model + ".expected.safetensors"))) {
            double bound = Math.abs(tarq.weights().tau) * tarq.quantizedVectors().unitErrorBound();
            Requests requests = Requests.read(expected);
            int count = requests.count();
            Mode[] modes = {Mode.TT, Mode.TA, Mode.TARQ_F32};
            String[] tensors = {"logits.tt", "logits.ta", "logits.tarq"};
            Scorer scorer = tarq.newScorer();
            float[] out = new float[count];
            for (int m = 0; m < modes.length; m++) {
                float[] torch = expected.tensor(tensors[m]).toFloatArray();
                double slack = modes[m] == Mode.TA ? 0 : bound;
                for (int r = 0; r < requests.size(); r++) {
                    scorer.score(modes[m], requests.users()[r], requests.history(r), requests.candidates(r), out);
                    assertWithin(model + " sq8 " + modes[m], out, torch, r, slack);
                }
            }
        }
    }

    /**
     * The engine's logits {@code out} of request r against PyTorch's ({@code torch[r·count ..]}, count = out.length)
     * within 1e-4·max(1, |logit|) plus {@code slack}.
     */
    private static void assertWithin(String what, float[] out, float[] torch, int r, double slack) {
        for (int c = 0; c < out.length; c++) {
            float want = torch[r * out.length + c];
            double tolerance = 1e-4 * Math.max(1, Math.abs(want)) + slack;
            if (Math.abs(out[c] - want) > tolerance) {
                throw new AssertionError(what + " request " + r + " candidate " + c + ": engine " + out[c]
                        + ", PyTorch " + want + (slack > 0 ? " (plus " + slack + ")" : ""));
            }
        }
    }

    /** The fixture's requests ({@code request.*} tensors): request r has {@code count} candidates. */
    private record Requests(long[] users, long[] offsets, long[] histories, long[] allCandidates, int count) {
        static Requests read(SafetensorsFile expected) throws ModelFormatException {
            TensorView candidates = expected.tensor("request.candidates");
            Requests requests = new Requests(expected.tensor("request.user").toLongArray(),
                    expected.tensor("request.history_offsets").toLongArray(),
                    expected.tensor("request.history").toLongArray(), candidates.toLongArray(),
                    Math.toIntExact(candidates.dim(1)));
            assertEquals(requests.size(), candidates.dim(0));
            return requests;
        }

        int size() {
            return users.length;
        }

        long[] history(int r) {
            return Arrays.copyOfRange(histories, (int) offsets[r], (int) offsets[r + 1]);
        }

        long[] candidates(int r) {
            return Arrays.copyOfRange(allCandidates, r * count, (r + 1) * count);
        }
    }

    private static Set<Integer> top(float[] scores) {
        Integer[] order = new Integer[scores.length];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> scores[a] != scores[b] ? Float.compare(scores[b], scores[a]) : Integer.compare(a, b));
        return new HashSet<>(Arrays.asList(order).subList(0, TOP));
    }

    private static double overlap(Set<Integer> a, Set<Integer> b) {
        Set<Integer> both = new HashSet<>(a);
        both.retainAll(b);
        return both.size() / (double) TOP;
    }
}
