package io.tarq.tools.data;

/**
 * The trainer's evaluation rows ({@code leave_one_out} in {@code tarq/data/split.py}): one row per user with at least
 * 3 behaviours, in row order; the test target is the last behaviour, the validation target the one before; the
 * history is every behaviour before the target (the trainer then keeps the newest n_max, which the engine does
 * itself); the candidates are the target then {@code negatives} items the user never touched, drawn by
 * {@link PortableNegatives} from the stream (seed, split, user row).
 *
 * <p>Layout: {@code histories[E][]} and {@code candidates[E][1 + negatives]} in external ids, column 0 the positive.
 */
public record LeaveOneOut(int split, long seed, int negatives, int[] userRows, long[] userIds, long[][] histories,
                          long[][] candidates) {

    public int size() {
        return userRows.length;
    }

    public int perRow() {
        return negatives + 1;
    }

    /**
     * The rows of {@code split} ({@link PortableNegatives#VALIDATION} or {@link PortableNegatives#TEST}). An
     * {@link IllegalArgumentException} with the trainer's message when an evaluated user touched so much of the
     * catalog that {@code negatives} untouched items do not exist.
     */
    public static LeaveOneOut evaluation(SequenceDataset data, int split, long seed, int negatives) {
        if (split != PortableNegatives.VALIDATION && split != PortableNegatives.TEST) {
            throw new IllegalArgumentException("split must be " + PortableNegatives.VALIDATION + " or " + PortableNegatives.TEST);
        }
        if (negatives < 0) {
            throw new IllegalArgumentException("negatives must be >= 0");
        }
        int items = data.items();
        int evaluated = 0;
        boolean[] touched = new boolean[items];
        for (int u = 0; u < data.users(); u++) {
            int[] s = data.sequences()[u];
            if (s.length < 3) {
                continue;
            }
            evaluated++;
            int distinct = 0;
            for (int i : s) {
                distinct += touched[i] ? 0 : 1;
                touched[i] = true;
            }
            for (int i : s) {
                touched[i] = false;
            }
            if (negatives > 0 && items - distinct < negatives) {
                throw new IllegalArgumentException("dataset " + Text.repr(data.name()) + ": user " + data.userIds()[u]
                        + " (row " + SequenceDataset.row(u) + ") touched " + distinct + " of " + items
                        + " items: fewer than " + negatives + " are left to sample as negatives");
            }
        }
        int[] rows = new int[evaluated];
        long[] ids = new long[evaluated];
        long[][] histories = new long[evaluated][];
        long[][] candidates = new long[evaluated][];
        long[] catalog = data.itemIds();
        int e = 0;
        for (int u = 0; u < data.users(); u++) {
            int[] s = data.sequences()[u];
            if (s.length < 3) {
                continue;
            }
            int target = split == PortableNegatives.TEST ? s.length - 1 : s.length - 2;
            for (int i : s) {
                touched[i] = true;
            }
            int[] sampled = PortableNegatives.sample(seed, split, SequenceDataset.row(u), negatives, touched, items);
            for (int i : s) {
                touched[i] = false;
            }
            long[] history = new long[target];
            for (int t = 0; t < target; t++) {
                history[t] = catalog[s[t]];
            }
            long[] row = new long[negatives + 1];
            row[0] = catalog[s[target]];
            for (int k = 0; k < negatives; k++) {
                row[k + 1] = catalog[sampled[k]];
            }
            rows[e] = SequenceDataset.row(u);
            ids[e] = data.userIds()[u];
            histories[e] = history;
            candidates[e] = row;
            e++;
        }
        return new LeaveOneOut(split, seed, negatives, rows, ids, histories, candidates);
    }
}
