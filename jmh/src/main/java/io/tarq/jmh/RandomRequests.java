package io.tarq.jmh;

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

    RandomRequests(int count, int users, int items, int history, int candidates, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        this.users = new long[count];
        this.histories = new long[count][history];
        this.candidates = new long[count][candidates];
        this.userRows = new int[count];
        this.historyRows = new int[count][history];
        this.candidateRows = new int[count][candidates];
        for (int r = 0; r < count; r++) {
            userRows[r] = random.nextInt(users);
            this.users[r] = SyntheticModel.userId(userRows[r]);
            for (int i = 0; i < history; i++) {
                historyRows[r][i] = random.nextInt(items);
                histories[r][i] = SyntheticModel.itemId(historyRows[r][i]);
            }
            for (int i = 0; i < candidates; i++) {
                candidateRows[r][i] = random.nextInt(items);
                this.candidates[r][i] = SyntheticModel.itemId(candidateRows[r][i]);
            }
        }
    }

    int count() {
        return users.length;
    }
}
