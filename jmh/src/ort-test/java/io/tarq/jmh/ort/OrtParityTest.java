package io.tarq.jmh.ort;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tarq.engine.Mode;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.engine.UnknownCandidateException;
import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.jmh.OrtGraphs;
import io.tarq.jmh.OrtGraphs.Graph;
import io.tarq.jmh.RequestScorer;
import io.tarq.layout.safetensors.SafetensorsFile;
import io.tarq.layout.safetensors.TensorView;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ONNX Runtime's logits against the engine's on the same requests, within 1e-4·max(1, |x|): ORT's {@code tt.onnx}
 * against the engine's TT, {@code ta.onnx} against TA, {@code tarq.onnx} and {@code tarq-candidate.onnx} against
 * TARQ_F32 (the float tables: the uint8 ones are an approximation by design). On the trained parity fixtures (null
 * keys; readout and DIN teacher heads; unknown users and behaviours, empty and over-long histories) with their
 * committed exports, and on a synthetic model without null keys exported at test time by the same command the
 * benchmarks use (needs /usr/bin/python3 with PyTorch; skipped without it).
 */
class OrtParityTest {
    private static final Graph[] GRAPHS = {Graph.TT, Graph.TA, Graph.TARQ, Graph.TARQ_CANDIDATE};
    private static final Mode[] ENGINE = {Mode.TT, Mode.TA, Mode.TARQ_F32, Mode.TARQ_F32};

    @TempDir
    Path dir;

    static Path parity() {
        return Path.of(System.getProperty("tarq.root", "..")).resolve("engine/src/test/resources/parity").toAbsolutePath();
    }

    record Request(long user, long[] history, long[] candidates) {
    }

    @ParameterizedTest
    @ValueSource(strings = {"readout", "din", "cross"})
    void ortMatchesTheEngineOnTheTrainedFixtures(String name) throws Exception {
        Path model = parity().resolve(name + ".safetensors");
        Path graphs = parity().resolve("onnx").resolve(name);
        String info = Files.readString(graphs.resolve("export.json"));
        assertTrue(info.contains("\"source_sha256\": \"" + sha256(model) + "\""),
                graphs + " was not exported from " + model + ": run ./tarq parity-fixtures");

        List<Request> requests = new ArrayList<>();
        try (SafetensorsFile expected = SafetensorsFile.open(parity().resolve(name + ".expected.safetensors"))) {
            long[] users = expected.tensor("request.user").toLongArray();
            long[] offsets = expected.tensor("request.history_offsets").toLongArray();
            long[] histories = expected.tensor("request.history").toLongArray();
            TensorView candidates = expected.tensor("request.candidates");
            int count = Math.toIntExact(candidates.dim(1));
            long[] all = candidates.toLongArray();
            for (int r = 0; r < users.length; r++) {
                requests.add(new Request(users[r], Arrays.copyOfRange(histories, (int) offsets[r], (int) offsets[r + 1]),
                        Arrays.copyOfRange(all, r * count, (r + 1) * count)));
            }
        }
        assertTrue(requests.stream().anyMatch(r -> r.history().length == 0), "the fixture has an empty history");
        try (TarqModel engine = TarqModel.open(model)) {
            compare(name, engine, graphs, requests);
            try (RequestScorer ort = new OrtScorer(engine, graphs.resolve(Graph.TT.file), 1)) {
                long[] unknown = requests.get(0).candidates().clone();
                unknown[3] = Long.MIN_VALUE;
                var e = assertThrows(UnknownCandidateException.class, () -> ort.score(1, new long[0], unknown, new float[unknown.length]));
                assertEquals(Long.MIN_VALUE, e.id());
            }
        }
    }

    @Test
    void ortMatchesTheEngineOnASyntheticModelWithoutNullKeysExportedByTheBenchmarksCommand() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "no /usr/bin/python3");
        Path model = dir.resolve("synth.safetensors");
        SyntheticModelSpec spec = SyntheticModelSpec.defaults(3000).withUsers(50).withDims(32, 4, 16, 48).withNMax(20)
                .withCodebook(2, 64).withNullKeys(false);
        SyntheticModel.write(spec, model);
        Path graphs = OrtGraphs.exportsOf(model);
        assertEquals(graphs, OrtGraphs.exportsOf(model), "the second call reuses the export");

        SplittableRandom random = new SplittableRandom(5);
        List<Request> requests = new ArrayList<>();
        for (int r = 0; r < 12; r++) {
            int n = r == 0 ? 0 : r == 1 ? 35 : random.nextInt(1, 20); // empty, longer than n_max, typical
            long[] history = new long[n];
            for (int i = 0; i < n; i++) {
                history[i] = SyntheticModel.itemId(random.nextInt(spec.items()));
            }
            long[] candidates = new long[r == 2 ? 1 : 200 + r];
            for (int i = 0; i < candidates.length; i++) {
                candidates[i] = SyntheticModel.itemId(random.nextInt(spec.items()));
            }
            requests.add(new Request(r == 3 ? -12345 : SyntheticModel.userId(random.nextInt(spec.users())), history, candidates));
        }
        try (TarqModel engine = TarqModel.open(model)) {
            compare("synthetic", engine, graphs, requests);
        }
    }

    private static void compare(String name, TarqModel engine, Path graphs, List<Request> requests) throws Exception {
        Scorer scorer = engine.newScorer();
        for (int g = 0; g < GRAPHS.length; g++) {
            try (RequestScorer ort = new OrtScorer(engine, graphs.resolve(GRAPHS[g].file), 1)) {
                for (int r = 0; r < requests.size(); r++) {
                    Request q = requests.get(r);
                    float[] want = new float[q.candidates().length];
                    float[] got = new float[q.candidates().length];
                    scorer.score(ENGINE[g], q.user(), q.history(), q.candidates(), want);
                    ort.score(q.user(), q.history(), q.candidates(), got);
                    for (int c = 0; c < want.length; c++) {
                        double tolerance = 1e-4 * Math.max(1, Math.abs(want[c]));
                        if (!(Math.abs(got[c] - want[c]) <= tolerance)) {
                            throw new AssertionError(name + " " + GRAPHS[g].file + " request " + r + " (n = "
                                    + q.history().length + ") candidate " + c + ": ORT " + got[c] + ", engine "
                                    + ENGINE[g] + " " + want[c]);
                        }
                    }
                }
            }
        }
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
