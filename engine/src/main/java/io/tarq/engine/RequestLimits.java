package io.tarq.engine;

/**
 * The largest request a scorer accepts. A request over a limit is refused with a {@link RequestLimitException} before
 * any work and before any buffer grows, so a huge or corrupt request never makes the engine allocate for it.
 *
 * <ul>
 *   <li>{@code maxCandidates}: M, candidates a request (default 100,000). Scratch memory grows with M
 *       (about 40 bytes a candidate), so this bounds what one request can make a scorer hold.</li>
 *   <li>{@code maxHistory}: behaviour ids a request may carry (default 10,000). The contract trims a history to its
 *       newest n_max known behaviours; ids past n_max are accepted (up to this limit) and ignored, but each is still
 *       looked up when older ones are unknown, so the limit bounds that scan and what a parser may allocate.</li>
 *   <li>{@code maxK}: k and k' of a top-k or cascade request (default 100,000, the default M). A request may ask for
 *       more than it has candidates; it then gets them all, best first.</li>
 * </ul>
 */
public record RequestLimits(int maxCandidates, int maxHistory, int maxK) {
    public static final int DEFAULT_MAX_CANDIDATES = 100_000;
    public static final int DEFAULT_MAX_HISTORY = 10_000;
    public static final int DEFAULT_MAX_K = DEFAULT_MAX_CANDIDATES;
    public static final RequestLimits DEFAULT = new RequestLimits(DEFAULT_MAX_CANDIDATES, DEFAULT_MAX_HISTORY, DEFAULT_MAX_K);

    public RequestLimits {
        // Each limit must be usable as an array length and as a count: 0 would refuse every request with candidates.
        if (maxCandidates < 1 || maxHistory < 0 || maxK < 0) {
            throw new IllegalArgumentException("request limits must be maxCandidates >= 1, maxHistory >= 0, maxK >= 0; got "
                    + maxCandidates + ", " + maxHistory + ", " + maxK);
        }
    }

    public RequestLimits withMaxCandidates(int value) {
        return new RequestLimits(value, maxHistory, maxK);
    }

    public RequestLimits withMaxHistory(int value) {
        return new RequestLimits(maxCandidates, value, maxK);
    }

    public RequestLimits withMaxK(int value) {
        return new RequestLimits(maxCandidates, maxHistory, value);
    }

    /** Refuses {@code count} candidates over the limit. */
    public void checkCandidates(int count) {
        if (count > maxCandidates) {
            throw new RequestLimitException("candidates", count, maxCandidates);
        }
    }

    /** Refuses a history of {@code count} ids over the limit. */
    public void checkHistory(int count) {
        if (count > maxHistory) {
            throw new RequestLimitException("history", count, maxHistory);
        }
    }

    /** Refuses a negative k, or one over the limit; {@code what} is "k" or "kPrime". */
    public void checkK(String what, int k) {
        if (k < 0) {
            throw new IllegalArgumentException(what + " = " + k + " is negative");
        }
        if (k > maxK) {
            throw new RequestLimitException(what, k, maxK);
        }
    }
}
