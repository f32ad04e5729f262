package io.tarq.tools.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** The Java metrics against brute force (pairs counted one by one, ties half), with many ties. */
class RankingMetricsTest {
    private static double bruteAuc(float[] s, byte[] y, int from, int to) {
        double wins = 0;
        long pairs = 0;
        for (int i = from; i < to; i++) {
            for (int j = from; j < to; j++) {
                if (y[i] != 0 && y[j] == 0) {
                    pairs++;
                    wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                }
            }
        }
        return wins / pairs;
    }

    @RepeatedTest(5)
    void aucAndGaucMatchBruteForce() {
        SplittableRandom random = new SplittableRandom(System.nanoTime());
        int rows = 20, per = 12;
        float[] s = new float[rows * per];
        byte[] y = new byte[rows * per];
        for (int i = 0; i < s.length; i++) {
            s[i] = random.nextInt(6); // ties
            y[i] = (byte) (random.nextInt(4) == 0 || i % per == 0 ? 1 : 0);
        }
        y[per - 1] = 0;
        assertEquals(bruteAuc(s, y, 0, s.length), RankingMetrics.auc(s, y), 1e-12);
        double sum = 0, weights = 0;
        for (int r = 0; r < rows; r++) {
            int positives = 0;
            for (int i = 0; i < per; i++) {
                positives += y[r * per + i];
            }
            if (positives > 0 && positives < per) {
                sum += per * bruteAuc(s, y, r * per, (r + 1) * per);
                weights += per;
            }
        }
        assertEquals(sum / weights, RankingMetrics.gauc(s, y, per), 1e-12);
    }

    /** The primitive-key order equals a stable comparator sort by Float.compare, over ±0, ±∞, NaN, ties, negatives. */
    @RepeatedTest(5)
    void orderIsFloatCompareOrderWithTiesByPosition() {
        SplittableRandom random = new SplittableRandom(System.nanoTime());
        float[] special = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE,
                -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, 1f, -1f};
        float[] s = new float[500];
        for (int i = 0; i < s.length; i++) {
            s[i] = switch (random.nextInt(3)) {
                case 0 -> special[random.nextInt(special.length)];
                case 1 -> random.nextInt(7) - 3;
                default -> (float) random.nextGaussian();
            };
        }
        int from = 17, n = 400;
        for (boolean descending : new boolean[] {false, true}) {
            Integer[] expected = new Integer[n];
            Arrays.setAll(expected, i -> i);
            Arrays.sort(expected, (a, b) -> descending
                    ? Float.compare(s[from + b], s[from + a]) : Float.compare(s[from + a], s[from + b]));
            int[] actual = RankingMetrics.order(s, from, n, descending);
            for (int i = 0; i < n; i++) {
                assertEquals(expected[i], actual[i], "descending " + descending + " rank " + i);
            }
        }
    }

    @Test
    void spearmanAndRecallOfIdenticalAndReversedRankings() {
        float[] a = {3, 1, 4, 1.5f, 5, 9, 2, 6};
        float[] reversed = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            reversed[i] = -a[i];
        }
        assertEquals(1.0, RankingMetrics.spearman(a, a, a.length), 1e-12);
        assertEquals(-1.0, RankingMetrics.spearman(a, reversed, a.length), 1e-12);
        assertEquals(1.0, RankingMetrics.topKRecall(a, a, a.length, 3), 1e-12);
        assertEquals(0.0, RankingMetrics.topKRecall(reversed, a, a.length, 3), 1e-12);
    }
}
