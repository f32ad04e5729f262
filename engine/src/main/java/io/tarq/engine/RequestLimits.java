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
 *
 * <p>Immutable; the {@code with*} methods return a copy with one limit changed.
 *
 * @param maxCandidates the most candidates a request may have, at least 1
 * @param maxHistory    the most behaviour ids a request may carry, at least 0
 * @param maxK          the largest k or k' a top-k or cascade request may ask for, at least 0
 */
public record RequestLimits(int maxCandidates, int maxHistory, int maxK) {
    /** The default {@code maxCandidates}: 100,000. */
    public static final int DEFAULT_MAX_CANDIDATES = 100_000;
    /** The default {@code maxHistory}: 10,000. */
    public static final int DEFAULT_MAX_HISTORY = 10_000;
    /** The default {@code maxK}: the default {@code maxCandidates}. */
    public static final int DEFAULT_MAX_K = DEFAULT_MAX_CANDIDATES;
    /** The limits every scorer and engine starts with: the three defaults above. */
    public static final RequestLimits DEFAULT = new RequestLimits(DEFAULT_MAX_CANDIDATES, DEFAULT_MAX_HISTORY, DEFAULT_MAX_K);

    /**
     * Checks that each limit is usable as an array length and as a count.
     *
     * @param maxCandidates the most candidates a request may have, at least 1
     * @param maxHistory    the most behaviour ids a request may carry, at least 0
     * @param maxK          the largest k or k' a request may ask for, at least 0
     * @throws IllegalArgumentException {@code maxCandidates < 1}, {@code maxHistory < 0} or {@code maxK < 0}
     */
    public RequestLimits {
        // Each limit must be usable as an array length and as a count: 0 would refuse every request with candidates.
        if (maxCandidates < 1 || maxHistory < 0 || maxK < 0) {
            throw new IllegalArgumentException("request limits must be maxCandidates >= 1, maxHistory >= 0, maxK >= 0; got "
                    + maxCandidates + ", " + maxHistory + ", " + maxK);
        }
    }

    /**
     * Returns these limits with {@code maxCandidates} replaced.
     *
     * @param value the new {@code maxCandidates}, at least 1
     * @return a new instance
     * @throws IllegalArgumentException {@code value < 1}
     */
    public RequestLimits withMaxCandidates(int value) {
        return new RequestLimits(value, maxHistory, maxK);
    }

    /**
     * Returns these limits with {@code maxHistory} replaced.
     *
     * @param value the new {@code maxHistory}, at least 0
     * @return a new instance
     * @throws IllegalArgumentException {@code value < 0}
     */
    public RequestLimits withMaxHistory(int value) {
        return new RequestLimits(maxCandidates, value, maxK);
    }

    /**
     * Returns these limits with {@code maxK} replaced.
     *
     * @param value the new {@code maxK}, at least 0
     * @return a new instance
     * @throws IllegalArgumentException {@code value < 0}
     */
    public RequestLimits withMaxK(int value) {
        return new RequestLimits(maxCandidates, maxHistory, value);
    }

    /**
     * Refuses a request of {@code count} candidates if it is over {@code maxCandidates}.
     *
     * @param count the request's candidate count
     * @throws RequestLimitException {@code count > maxCandidates}
     */
    public void checkCandidates(int count) {
        if (count > maxCandidates) {
            throw new RequestLimitException("candidates", count, maxCandidates);
        }
    }

    /**
     * Refuses a history of {@code count} ids if it is over {@code maxHistory}.
     *
     * @param count the request's history length
     * @throws RequestLimitException {@code count > maxHistory}
     */
    public void checkHistory(int count) {
        if (count > maxHistory) {
            throw new RequestLimitException("history", count, maxHistory);
        }
    }

    /**
     * Refuses a negative k, or one over {@code maxK}.
     *
     * @param what the parameter's name for the message: "k" or "kPrime"
     * @param k    the requested k
     * @throws IllegalArgumentException {@code k} is negative
     * @throws RequestLimitException    {@code k > maxK}
     */
    public void checkK(String what, int k) {
        if (k < 0) {
            throw new IllegalArgumentException(what + " = " + k + " is negative");
        }
        if (k > maxK) {
            throw new RequestLimitException(what, k, maxK);
        }
    }
}
