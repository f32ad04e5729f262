package io.tarq.engine;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of the requests that scorers served, for a server to export (Prometheus, JMX, logs): requests and their
 * summed time by mode, cascades, and failures by kind. A {@link TarqEngine}'s counters span every model version it
 * served; a {@link TarqModel}'s count the scorers of {@link TarqModel#newScorer()}.
 *
 * <p>Thread-safe. Recording costs two {@link System#nanoTime()} calls and one {@link LongAdder} add a request, which
 * scale across threads without contention; reading sums the adders, so a snapshot taken while requests run may be
 * a few requests apart between counters.
 */
public final class RequestMetrics {
    /** Why a request failed, as the exception it threw. */
    public enum Failure {
        /** {@link UnknownCandidateException}: a candidate id is not in the catalog and unknown ones are not skipped. */
        UNKNOWN_CANDIDATE,
        /** {@link RequestLimitException}: the request was over the scorer's limits. */
        OVER_LIMIT,
        /** {@link IllegalArgumentException} or {@link IndexOutOfBoundsException}: a malformed request. */
        BAD_REQUEST,
        /** {@link IllegalStateException}: a scorer entered by two threads, or used after its model closed. */
        MISUSE,
        /** Any other exception. */
        OTHER
    }

    private static final Mode[] MODES = Mode.values();
    private static final Failure[] FAILURES = Failure.values();

    private final LongAdder[] requests = adders(MODES.length);
    private final LongAdder[] nanos = adders(MODES.length);
    private final LongAdder cascades = new LongAdder();
    private final LongAdder cascadeNanos = new LongAdder();
    private final LongAdder[] failures = adders(FAILURES.length);

    /** Counters at zero; the engine and each model make their own. */
    RequestMetrics() {
    }

    /**
     * Returns how many requests under {@code mode} completed ({@code score}, {@code scoreRows} and {@code topK}; a
     * cascade counts in {@link #cascades()}).
     *
     * @param mode the mode
     * @return the count since these counters were made
     */
    public long requests(Mode mode) {
        return requests[mode.ordinal()].sum();
    }

    /**
     * Returns the summed wall time of the completed requests under {@code mode}, from entering the scorer to leaving
     * it; with {@link #requests(Mode)} it gives the mean latency.
     *
     * @param mode the mode
     * @return nanoseconds
     */
    public long nanos(Mode mode) {
        return nanos[mode.ordinal()].sum();
    }

    /**
     * Returns how many TARQ → TA cascades ({@code rescoreTopK}) completed.
     *
     * @return the count since these counters were made
     */
    public long cascades() {
        return cascades.sum();
    }

    /**
     * Returns the summed wall time of the completed cascades.
     *
     * @return nanoseconds
     */
    public long cascadeNanos() {
        return cascadeNanos.sum();
    }

    /**
     * Returns how many requests failed with {@code kind}.
     *
     * @param kind the kind of failure
     * @return the count since these counters were made
     */
    public long failures(Failure kind) {
        return failures[kind.ordinal()].sum();
    }

    /**
     * Returns how many requests failed, of any kind.
     *
     * @return the sum of {@link #failures(Failure)} over the kinds
     */
    public long failures() {
        long total = 0;
        for (LongAdder f : failures) {
            total += f.sum();
        }
        return total;
    }

    void completed(Mode mode, long elapsedNanos) {
        requests[mode.ordinal()].increment();
        nanos[mode.ordinal()].add(elapsedNanos);
    }

    void cascadeCompleted(long elapsedNanos) {
        cascades.increment();
        cascadeNanos.add(elapsedNanos);
    }

    void failed(RuntimeException e) {
        failures[kindOf(e).ordinal()].increment();
    }

    static Failure kindOf(RuntimeException e) {
        if (e instanceof UnknownCandidateException) {
            return Failure.UNKNOWN_CANDIDATE;
        }
        if (e instanceof RequestLimitException) {
            return Failure.OVER_LIMIT;
        }
        if (e instanceof IllegalArgumentException || e instanceof IndexOutOfBoundsException) {
            return Failure.BAD_REQUEST;
        }
        if (e instanceof IllegalStateException) {
            return Failure.MISUSE;
        }
        return Failure.OTHER;
    }

    private static LongAdder[] adders(int n) {
        LongAdder[] a = new LongAdder[n];
        for (int i = 0; i < n; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }
}
