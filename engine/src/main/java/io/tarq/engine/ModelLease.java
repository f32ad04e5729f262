package io.tarq.engine;

import java.nio.file.Path;

/**
 * A request's hold on the model an engine served when the request began: the model stays open, and its memory
 * mapped, until the lease is closed, however many swaps happen meanwhile. Use it in try-with-resources, on one
 * thread, for one request or a few; the scorer belongs to the lease until it is closed.
 *
 * <p>Not thread-safe: a lease and its scorer serve the thread that acquired it. Closing allocates nothing.
 *
 * <pre>{@code
 * try (ModelLease lease = engine.acquire()) {
 *     lease.scorer().score(Mode.TARQ, user, history, candidates, logits);
 * }
 * }</pre>
 */
public final class ModelLease implements AutoCloseable {
    private final ServedModel served;
    private final Scorer scorer;
    private final TarqEngine.Options options;
    private boolean closed;

    ModelLease(ServedModel served, Scorer scorer, TarqEngine.Options options) {
        this.served = served;
        this.scorer = scorer;
        this.options = options;
    }

    /**
     * Returns the lease's scorer, bound to this lease's model and configured with the engine's limits and
     * unknown-candidate policy. Settings changed on it last until the lease is closed, which restores the engine's.
     *
     * @return the scorer, the same one on every call
     * @throws IllegalStateException the lease is closed
     */
    public Scorer scorer() {
        checkOpen();
        return scorer;
    }

    /**
     * Returns the model this lease holds open (dimensions, file, metadata). Never close it: the engine does, when no
     * lease holds it.
     *
     * @return the leased model
     * @throws IllegalStateException the lease is closed
     */
    public TarqModel model() {
        checkOpen();
        return served.model();
    }

    /**
     * Returns the engine's number for this lease's model; valid after the lease is closed too.
     *
     * @return 1 for the first model, +1 at each accepted swap
     */
    public long version() {
        return served.version();
    }

    /**
     * Returns the file of this lease's model; valid after the lease is closed too.
     *
     * @return the path the model was opened from
     */
    public Path path() {
        return served.path();
    }

    /**
     * Gives the scorer back to the model's pool and drops the lease's reference; if the model was retired and this was
     * its last lease, closes it here. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // A caller may have changed the scorer's settings; the next lease must get the engine's.
        scorer.skipUnknownCandidates(options.skipUnknownCandidates()).limits(options.limits());
        served.scorers().give(scorer);
        served.release();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the lease on " + served.path() + " (version " + served.version() + ") is closed");
        }
    }
}
