package io.tarq.tools.data;

import java.util.Arrays;

/**
 * Users and their behaviour sequences as the trainer's {@code build_dataset} ({@code tarq/data/dataset.py}) lays them
 * out, so that row numbers, catalog indices and therefore the sampled negatives agree with the trainer's:
 *
 * <ul>
 *   <li>{@code itemIds[I]}: the catalog, the distinct items of the sequences ascending; internal item index = rank;</li>
 *   <li>{@code userIds[U]}: real users ascending; user {@code u} is the trainer's (and the model's) row {@code u + 1},
 *       row 0 being the unknown user;</li>
 *   <li>{@code sequences[U][]}: internal item indices, oldest first.</li>
 * </ul>
 *
 * Item attributes are not kept: evaluation needs none, and they do not change the catalog.
 */
public record SequenceDataset(String name, long[] itemIds, long[] userIds, int[][] sequences) {

    public int items() {
        return itemIds.length;
    }

    public int users() {
        return userIds.length;
    }

    /** The trainer's row of user {@code u} (0-based here): u + 1. */
    public static int row(int u) {
        return u + 1;
    }

    /**
     * From external ids: {@code users[k]} behaved {@code sequences[k]} (oldest first). The caller has checked that
     * user ids are distinct and not the unknown user's -1.
     */
    static SequenceDataset build(String name, long[] users, long[][] sequences) {
        int n = users.length;
        Integer[] order = new Integer[n];
        Arrays.setAll(order, k -> k);
        Arrays.sort(order, (a, b) -> Long.compare(users[a], users[b]));
        long total = 0;
        for (long[] s : sequences) {
            total += s.length;
        }
        long[] flat = new long[Math.toIntExact(total)];
        int at = 0;
        for (long[] s : sequences) {
            System.arraycopy(s, 0, flat, at, s.length);
            at += s.length;
        }
        Arrays.sort(flat);
        int distinct = 0;
        for (int i = 0; i < flat.length; i++) {
            if (i == 0 || flat[i] != flat[i - 1]) {
                flat[distinct++] = flat[i];
            }
        }
        long[] itemIds = Arrays.copyOf(flat, distinct);
        long[] userIds = new long[n];
        int[][] internal = new int[n][];
        for (int u = 0; u < n; u++) {
            userIds[u] = users[order[u]];
            long[] s = sequences[order[u]];
            int[] rows = new int[s.length];
            for (int t = 0; t < s.length; t++) {
                rows[t] = Arrays.binarySearch(itemIds, s[t]);
            }
            internal[u] = rows;
        }
        return new SequenceDataset(name, itemIds, userIds, internal);
    }
}
