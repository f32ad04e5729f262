package io.tarq.jmh.ort;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.tarq.engine.TarqModel;
import io.tarq.engine.UnknownCandidateException;
import io.tarq.jmh.RequestScorer;
import io.tarq.layout.IdIndex;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Map;

/**
 * One ONNX graph of {@code tarq.train.onnx_export} (inputs {@code user} int64 [1], {@code history} int64 [n],
 * {@code candidates} int64 [M], all catalog rows; output {@code logits} float32 [M]) run by ONNX Runtime, behind the
 * engine's request semantics: ids resolved through the engine model's own indexes (unknown user → row 0, unknown
 * behaviours dropped and the newest n_max kept, an unknown candidate an {@link UnknownCandidateException}), so that
 * both sides do the same work outside the graph.
 *
 * <p>The session runs sequentially with {@code threads} intra-op threads (the engine scores a request on one thread;
 * compare with 1) and every graph optimization on (the export already folded the codeword queries into constants,
 * as the engine does at load). Inputs go through direct buffers that ORT reads in place. One scorer per thread, like the
 * engine's {@code Scorer}.
 *
 * <p><b>Empty histories.</b> ORT 1.22 kills the process (SIGFPE in {@code libonnxruntime.so}) when a graph optimized
 * at {@code EXTENDED_OPT} or above multiplies two empty matrices through its fused transposed MatMul (the n × n
 * scores of the sequence block at n = 0); {@code BASIC_OPT} runs the same graph correctly. So a request with no
 * known behaviour goes to a second session of the same graph at {@code BASIC_OPT}, opened on first need (the
 * benchmarks never open it: their histories are never empty).
 */
public final class OrtScorer implements RequestScorer {
    private final OrtEnvironment env;
    private final OrtSession session;
    private final Path graph;
    private final int threads;
    private OrtSession emptyHistorySession;
    private final IdIndex items;
    private final IdIndex users;
    private final int nMax;
    private final LongBuffer user = direct(1);
    private LongBuffer history;
    private LongBuffer candidates;
    private final long[] historyRows;

    public OrtScorer(TarqModel model, Path graph, int threads) throws OrtException {
        this.items = model.file().itemIndex();
        this.users = model.file().userIndex();
        this.nMax = model.dimensions().nMax();
        this.historyRows = new long[nMax];
        this.history = direct(nMax);
        this.candidates = direct(1024);
        this.env = OrtEnvironment.getEnvironment();
        this.graph = graph;
        this.threads = threads;
        this.session = open(OrtSession.SessionOptions.OptLevel.ALL_OPT);
    }

    private OrtSession open(OrtSession.SessionOptions.OptLevel level) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setOptimizationLevel(level);
            return env.createSession(graph.toString(), options);
        }
    }

    private static LongBuffer direct(int count) {
        return ByteBuffer.allocateDirect(Math.max(1, count) * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
    }

    @Override
    public void score(long userId, long[] historyIds, long[] candidateIds, float[] out) {
        int m = candidateIds.length;
        if (out.length < m) {
            throw new IllegalArgumentException("out holds " + out.length + " logits, the request has " + m + " candidates");
        }
        if (candidates.capacity() < m) {
            candidates = direct(m);
        }
        candidates.clear();
        for (int i = 0; i < m; i++) {
            int row = items.row(candidateIds[i]);
            if (row == IdIndex.MISSING) {
                throw new UnknownCandidateException(candidateIds[i], i);
            }
            candidates.put(i, row);
        }
        int n = 0;
        for (int i = historyIds.length - 1; i >= 0 && n < nMax; i--) {
            int row = items.row(historyIds[i]);
            if (row != IdIndex.MISSING) {
                historyRows[n++] = row;
            }
        }
        history.clear();
        for (int i = 0; i < n; i++) {
            history.put(i, historyRows[n - 1 - i]); // oldest first
        }
        int userRow = users.row(userId);
        user.put(0, userRow == IdIndex.MISSING ? 0 : userRow);

        try {
            if (n == 0 && emptyHistorySession == null) {
                emptyHistorySession = open(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime could not open " + graph + ": " + e.getMessage(), e);
        }
        OrtSession run = n == 0 ? emptyHistorySession : session;
        try (OnnxTensor u = OnnxTensor.createTensor(env, user, new long[] {1});
             OnnxTensor h = OnnxTensor.createTensor(env, history.slice(0, n), new long[] {n});
             OnnxTensor c = OnnxTensor.createTensor(env, candidates.slice(0, m), new long[] {m});
             OrtSession.Result result = run.run(Map.of("user", u, "history", h, "candidates", c))) {
            OnnxValue logits = result.get(0);
            FloatBuffer values = ((OnnxTensor) logits).getFloatBuffer();
            if (values.remaining() != m) {
                throw new IllegalStateException("the graph returned " + values.remaining() + " logits for " + m + " candidates");
            }
            values.get(out, 0, m);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on a request: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            session.close();
            if (emptyHistorySession != null) {
                emptyHistorySession.close();
            }
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }
}
