package io.tarq.jmh;

/**
 * A whole request scored by something other than the engine, under the engine's request semantics (unknown user → row
 * 0, unknown behaviours dropped and the newest n_max kept, an unknown candidate an {@code UnknownCandidateException}).
 * The ONNX Runtime scorer ({@code io.tarq.jmh.ort.OrtScorer}, in the {@code ort} build only) is one.
 */
public interface RequestScorer extends AutoCloseable {
    /** Fills {@code out[0..candidates.length)} with the logits, in candidate order. */
    void score(long userId, long[] history, long[] candidates, float[] out);

    @Override
    void close();
}
