package io.tarq.tools.data;

/**
 * The trainer's evaluation-negative sampler ({@code tools/python/tarq/data/portable.py}) bit for bit, so that
 * {@code ./tarq eval} scores exactly the candidates the trainer scored.
 *
 * <ul>
 *   <li>one SplitMix64 stream per (seed, split, user row): {@code state = mix(seed·γ ⊕ mix(split·γ ⊕ mix(user·γ)))},
 *       γ = 0x9E3779B97F4A7C15, {@code mix} = SplitMix64's finalizer; all arithmetic modulo 2⁶⁴ (Java's long
 *       arithmetic wraps exactly so);</li>
 *   <li>each draw: {@code state += γ}, item = ⌊mix(state) · N / 2⁶⁴⌋ ({@link Math#unsignedMultiplyHigh});</li>
 *   <li>a draw is kept when the user never touched the item and it was not drawn before for this row.</li>
 * </ul>
 */
public final class PortableNegatives {
    /** Stream numbers of {@code tarq/data/split.py} ({@code _VALIDATION}, {@code _TEST}). */
    public static final int VALIDATION = 1;
    public static final int TEST = 2;

    static final long GAMMA = 0x9E3779B97F4A7C15L;

    private PortableNegatives() {
    }

    /** SplitMix64's finalizer (Stafford's variant 13) on a 64-bit unsigned value. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static long streamState(long seed, long split, long user) {
        return mix(seed * GAMMA ^ mix(split * GAMMA ^ mix(user * GAMMA)));
    }

    /**
     * {@code k} distinct internal item indices in {@code [0, items)} outside {@code touched}, in draw order, for user
     * row {@code user}. {@code touched} is indexed by internal item and is left as it was. The caller guarantees at
     * least k untouched items.
     */
    public static int[] sample(long seed, int split, int user, int k, boolean[] touched, int items) {
        int[] kept = new int[k];
        long state = streamState(seed, split, user);
        int n = 0;
        draws:
        while (n < k) {
            state += GAMMA;
            int item = (int) Math.unsignedMultiplyHigh(mix(state), items);
            if (touched[item]) {
                continue;
            }
            // Drawn before = kept before (only kept draws are remembered); k is small (99), a scan beats a set.
            for (int i = 0; i < n; i++) {
                if (kept[i] == item) {
                    continue draws;
                }
            }
            kept[n++] = item;
        }
        return kept;
    }

    /** As {@link #sample} with the touched items given as a list (repeats allowed). */
    public static int[] sample(long seed, int split, int user, int k, int[] touchedItems, int items) {
        boolean[] touched = new boolean[items];
        for (int i : touchedItems) {
            touched[i] = true;
        }
        return sample(seed, split, user, k, touched, items);
    }
}
