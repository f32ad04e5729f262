package io.tarq.jmh;

import io.tarq.engine.Mode;
import io.tarq.engine.Scorer;
import io.tarq.engine.synth.SyntheticModel;
import java.util.SplittableRandom;

/**
 * Pre-drawn random requests against a synthetic model: a random user, {@code history} random behaviours and
 * {@code candidates} random candidates each, as external ids (the id API) and as the rows they resolve to (the rows API).
 */
final class RandomRequests {
    final long[] users;
    final long[][] histories;
    final long[][] candidates;
    final int[] userRows;
    final int[][] historyRows;
    final int[][] candidateRows;

    /** {@code count} requests against a model of {@code userCount} users and {@code itemCount} items. */
    RandomRequests(int count, int userCount, int itemCount, int historyLength, int candidateCount, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        users = new long[count];
        histories = new long[count][historyLength];
        candidates = new long[count][candidateCount];
        userRows = new int[count];
        historyRows = new int[count][historyLength];
        candidateRows = new int[count][candidateCount];
        for (int r = 0; r < count; r++) {
            userRows[r] = random.nextInt(userCount);
            users[r] = SyntheticModel.userId(userRows[r]);
            for (int i = 0; i < historyLength; i++) {
                historyRows[r][i] = random.nextInt(itemCount);
                histories[r][i] = SyntheticModel.itemId(historyRows[r][i]);
            }
            for (int i = 0; i < candidateCount; i++) {
                candidateRows[r][i] = random.nextInt(itemCount);
                candidates[r][i] = SyntheticModel.itemId(candidateRows[r][i]);
            }
        }
    }

    /**
     * Scores request r into {@code out}: through {@code ort} when it is not null (ids), else through the engine's
     * {@code scorer} in {@code mode}, by ids or by rows as {@code api} says.
     */
    void score(int r, RequestScorer ort, Scorer scorer, Mode mode, RequestBenchmark.Api api, float[] out) {
        if (ort != null) {
            ort.score(users[r], histories[r], candidates[r], out);
        } else if (api == RequestBenchmark.Api.IDS) {
            scorer.score(mode, users[r], histories[r], candidates[r], out);
        } else {
            scorer.scoreRows(mode, userRows[r], historyRows[r], candidateRows[r], out);
        }
    }
}
