package io.tarq.tools.demo;

import java.util.Arrays;

/**
 * The trainer's metrics (tools/python/tarq/train/metrics.py) in Java, so the engine's numbers can be compared with the
 * trainer's {@code metrics.json}: AUC over all pairs pooled and per-request AUC (GAUC), both with ties counted half;
 * logloss;
 * Spearman rank correlation and top-k recall for how closely one mode ranks like another.
 */
public final class RankingMetrics {
    private RankingMetrics() {}

    /** Average ranks, 1-based, ties sharing the mean of their ranks. */
    static double[] ranks(float[] scores, int from, int to) {
        int n = to - from;
        int[] order = order(scores, from, n, false);
        double[] ranks = new double[n];
        for (int i = 0; i < n; ) {
            int j = i;
            while (j + 1 < n && scores[from + order[j + 1]] == scores[from + order[i]]) {
                j++;
            }
            double mean = (i + j + 2) / 2.0;
            for (int k = i; k <= j; k++) {
                ranks[order[k]] = mean;
            }
            i = j + 1;
        }
        return ranks;
    }

    /** ROC AUC of {@code scores} against {@code labels} (1 = positive) over all entries pooled. */
    public static double auc(float[] scores, byte[] labels) {
        double[] r = ranks(scores, 0, scores.length);
        long positives = 0;
        double rankSum = 0;
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] != 0) {
                positives++;
                rankSum += r[i];
            }
        }
        long negatives = labels.length - positives;
        if (positives == 0 || negatives == 0) {
            return Double.NaN;
        }
        return (rankSum - positives * (positives + 1) / 2.0) / ((double) positives * negatives);
    }

    /** Per-request AUC over consecutive groups of {@code perRequest}, weighted by impressions; groups with one class left out. */
    public static double gauc(float[] scores, byte[] labels, int perRequest) {
        double weighted = 0, weights = 0;
        for (int from = 0; from < scores.length; from += perRequest) {
            double[] r = ranks(scores, from, from + perRequest);
            long positives = 0;
            double rankSum = 0;
            for (int i = 0; i < perRequest; i++) {
                if (labels[from + i] != 0) {
                    positives++;
                    rankSum += r[i];
                }
            }
            long negatives = perRequest - positives;
            if (positives == 0 || negatives == 0) {
                continue;
            }
            weighted += perRequest * (rankSum - positives * (positives + 1) / 2.0) / ((double) positives * negatives);
            weights += perRequest;
        }
        return weights == 0 ? Double.NaN : weighted / weights;
    }

    /** Mean binary cross-entropy of sigmoid(logit) against {@code labels} (1 = positive), computed stably from the logits. */
    public static double logloss(float[] logits, byte[] labels) {
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            double z = logits[i];
            sum += Math.max(z, 0) - (labels[i] != 0 ? z : 0) + Math.log1p(Math.exp(-Math.abs(z)));
        }
        return sum / logits.length;
    }

    /** Spearman's rank correlation of two score vectors of the same candidates. */
    public static double spearman(float[] a, float[] b, int count) {
        double[] ra = ranks(a, 0, count), rb = ranks(b, 0, count);
        double mean = (count + 1) / 2.0, num = 0, da = 0, db = 0;
        for (int i = 0; i < count; i++) {
            double x = ra[i] - mean, y = rb[i] - mean;
            num += x * y;
            da += x * x;
            db += y * y;
        }
        return da == 0 || db == 0 ? 0 : num / Math.sqrt(da * db);
    }

    /** The share of {@code reference}'s top k that is also in {@code candidate}'s top k (ties to the lower position). */
    public static double topKRecall(float[] candidate, float[] reference, int count, int k) {
        boolean[] inCandidate = new boolean[count];
        for (int i : top(candidate, count, k)) {
            inCandidate[i] = true;
        }
        int hits = 0;
        for (int i : top(reference, count, k)) {
            hits += inCandidate[i] ? 1 : 0;
        }
        return hits / (double) Math.min(k, count);
    }

    private static int[] top(float[] scores, int count, int k) {
        return Arrays.copyOf(order(scores, 0, count, true), Math.min(k, count));
    }

    /**
     * The positions {@code 0..n)} of {@code scores[from..from+n)} in {@link Float#compare} order, ascending or
     * descending, equal scores by position. Sorted as primitive keys (the score's order-preserving int in the high
     * half, the position in the low one): sorting boxed positions with a comparator took most of an
     * {@code ./tarq eval} of Beauty's 2.2M scores.
     */
    static int[] order(float[] scores, int from, int n, boolean descending) {
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) {
            int bits = Float.floatToIntBits(scores[from + i]);          // NaN canonical, above +∞, as Float.compare
            int sortable = bits ^ ((bits >> 31) & Integer.MAX_VALUE);   // negatives flipped: int order = float order
            keys[i] = (long) (descending ? ~sortable : sortable) << 32 | i;
        }
        Arrays.sort(keys);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = (int) keys[i];
        }
        return order;
    }
}
