package io.tarq.tools.serve;

import io.tarq.engine.Mode;
import io.tarq.engine.RequestLimits;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.engine.TopK;
import io.tarq.tools.InterleavedLatency;
import io.tarq.tools.jsonl.RequestLine;
import java.util.List;

/**
 * Synthetic requests run on a model before it takes traffic: they page its file in, run every scoring path once on
 * it (a model that verifies but cannot score a request fails here, not on a user's request), and check that each
 * logit is finite. Every mode and the cascade take turns, at M = min(1,000, N).
 */
final class Warmup {
    private static final int CANDIDATES = 1000;
    private static final int HISTORY = 50;

    private Warmup() {
    }

    /** Runs {@code requests} requests on {@code model}; throws {@link IllegalStateException} on a non-finite logit. */
    static void run(TarqModel model, RequestLimits limits, int requests) {
        if (requests == 0) {
            return;
        }
        int candidates = Math.min(Math.min(CANDIDATES, model.dimensions().items()), limits.maxCandidates());
        int history = Math.min(HISTORY, limits.maxHistory());
        List<RequestLine> pool = InterleavedLatency.randomRequests(model, candidates, history, 1);
        Scorer scorer = model.newScorer().limits(limits);
        float[] scores = new float[candidates];
        TopK top = new TopK();
        Mode[] modes = Mode.values();
        int k = Math.min(10, Math.min(candidates, limits.maxK()));
        for (int i = 0; i < requests; i++) {
            RequestLine r = pool.get(i % pool.size());
            int turn = i % (modes.length + 1);
            if (turn < modes.length) {
                scorer.score(modes[turn], r.user(), r.history(), r.candidates(), scores);
                for (int c = 0; c < candidates; c++) {
                    if (!Float.isFinite(scores[c])) {
                        throw new IllegalStateException("warm-up: " + modes[turn].cliName() + " scored a non-finite logit "
                                + scores[c] + " for candidate id " + r.candidates()[c]);
                    }
                }
            } else {
                scorer.rescoreTopK(r.user(), r.history(), r.candidates(), Math.min(4 * k, candidates), k, top);
            }
        }
    }
}
