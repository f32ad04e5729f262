package io.tarq.jmh;

import io.tarq.engine.ItemVectors;
import io.tarq.engine.Mode;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;

import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One whole request, one thread, through the id API (ids resolved, user side, mode-specific work, candidate scan):
 * the contract's defaults d = 64, h = 4, n = 50, L = 3, K = 256 on a synthetic catalog of {@code items} items.
 * {@code itemVectors = SQ8} has the TT and TARQ scans read the 8-bit copy of item.vec ({@link ItemVectors#SQ8}).
 * Requests rotate through 32 pre-drawn ones (random user, history and candidates), so caches see a realistic mix.
 *
 * <p>The {@code ORT_*} modes run the same requests through ONNX Runtime on the model's ONNX export
 * ({@code tarq.train.onnx_export}, written once beside the model, {@link OrtGraphs}), ids resolved by the same index:
 * {@code ORT_TT} and {@code ORT_TA} the straightforward graphs of s_TT and ℓ_TA, {@code ORT_TARQ} the TARQ student as
 * the contract writes it (personalized codebook by full attention once per request, its table, one lookup per level
 * and candidate: no serving identity, float tables), and {@code ORT_TARQ_CANDIDATE} (not in the default list) the
 * student per candidate (L attention rows each). They need the ort build ({@code ./tarq jmh --ort}); in the plain
 * one they fail at setup saying so. {@code ortThreads} is ORT's intra-op thread count (the engine uses one thread).
 */
@State(Scope.Benchmark)
@BenchmarkMode(org.openjdk.jmh.annotations.Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// Equal -Xms/-Xmx and pre-touch keep heap growth out of the measurement; 3 forks expose run-to-run variance.
@Fork(value = 3, jvmArgsAppend = {"-Xms4g", "-Xmx4g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector"})
// The request path is hot after a few hundred requests; 3 s covers C2 of every kernel at M = 1,000.
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RequestBenchmark {
    public enum ScoringMode {
        TT, TARQ, TARQ_F32, TA, ORT_TT, ORT_TARQ, ORT_TA, ORT_TARQ_CANDIDATE;

        /** The ONNX graph of an ORT mode, null for the engine's. */
        OrtGraphs.Graph graph() {
            return switch (this) {
                case ORT_TT -> OrtGraphs.Graph.TT;
                case ORT_TARQ -> OrtGraphs.Graph.TARQ;
                case ORT_TA -> OrtGraphs.Graph.TA;
                case ORT_TARQ_CANDIDATE -> OrtGraphs.Graph.TARQ_CANDIDATE;
                default -> null;
            };
        }
    }

    /** IDS: external ids resolved through the id index; ROWS: catalog rows, for callers that keep them. */
    public enum Api { IDS, ROWS }

    @Param({"IDS"})
    public Api api;

    /** What the engine's candidate scans read for s_TT: the float rows of item.vec, or their 8-bit copy. */
    @Param({"FLOAT32"})
    public ItemVectors itemVectors;

    @Param({"TT", "TARQ", "TARQ_F32", "TA", "ORT_TT", "ORT_TARQ", "ORT_TA"})
    public ScoringMode mode;

    @Param({"1000", "5000", "20000", "50000"})
    public int candidates;

    @Param({"50"})
    public int history;

    /** dx of the synthetic model's cross head (format version 2); 0: a version-1 model without it. */
    @Param({"0"})
    public int crossDim;

    @Param({"1000000"})
    public int items;

    @Param({"1"})
    public int ortThreads;

    /** The n_max the synthetic model is written with: 100 (the contract's default), more when n asks for it. */
    static int nMaxFor(int history) {
        return Math.max(100, history);
    }

    private TarqModel model;
    private Scorer scorer;
    private RequestScorer ort;
    private Mode scoring;
    private RandomRequests requests;
    private float[] out;
    private int next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        SyntheticModelSpec spec = SyntheticModelSpec.defaults(items).withCrossDim(crossDim).withNMax(nMaxFor(history));
        Path file = Models.synthetic(spec);
        model = TarqModel.open(file, itemVectors);
        scorer = model.newScorer();
        if (mode.graph() != null) {
            if (api != Api.IDS) {
                throw new IllegalArgumentException("mode " + mode + " runs through ids only (api = IDS)");
            }
            ort = OrtGraphs.open(model, file, mode.graph(), ortThreads);
        } else {
            scoring = Mode.valueOf(mode.name());
        }
        requests = new RandomRequests(32, spec.users(), items, history, candidates, 17);
        out = new float[candidates];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (float s : out) {
            if (!Float.isFinite(s)) {
                throw new IllegalStateException("a logit is " + s);
            }
        }
        if (ort != null) {
            ort.close();
        }
        model.close();
    }

    @Benchmark
    public float request() {
        requests.score(next++ & 31, ort, scorer, scoring, api, out);
        return out[0];
    }
}
