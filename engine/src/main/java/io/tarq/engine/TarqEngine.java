package io.tarq.engine;

import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.Kernels;
import io.tarq.layout.ModelFormatException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Serves the current version of a model and replaces it while requests are in flight.
 *
 * <pre>{@code
 * TarqEngine engine = TarqEngine.open(Path.of("model-v1.safetensors"));
 * // request threads:
 * try (ModelLease lease = engine.acquire()) {
 *     lease.scorer().score(Mode.TARQ, user, history, candidates, logits);
 * }
 * // a deployment thread, at any time:
 * engine.swap(Path.of("model-v2.safetensors"));   // throws, and v1 keeps serving, if v2 is not a valid model
 * // at shutdown:
 * engine.close();
 * }</pre>
 *
 * <p><b>Swap.</b> {@link #swap(Path)} opens and checks the new file completely before anything changes: structure on
 * open, and by default every byte ({@link TarqModel#file()}{@code .verifyContents()}: no NaN, codes below K, unit
 * rows). A file that fails is closed, counted as a rejected swap, and its {@link ModelFormatException} or
 * {@link IOException} is thrown; the current model keeps serving. A valid one is published with one volatile write:
 * requests that start afterwards get it, requests already running finish on the old one.
 *
 * <p><b>Release.</b> Each version is reference-counted ({@code ServedModel}): the engine holds one reference while it
 * is current, each lease one. A retired version is closed (file unmapped, arena freed) when its last reference goes,
 * by the thread that drops it: the swapping thread if no request was running, else the request thread whose lease
 * ends last, after its response was computed. A request never runs on closed memory: {@link #acquire()} takes its
 * reference with a CAS that refuses a count of zero, and on refusal reads the current version again, which the swap
 * published before it dropped the engine's reference.
 *
 * <p><b>Scorers.</b> A {@link Scorer} is per thread and bound to one model. Each version has a lock-free pool of
 * idle scorers (capacity {@link Builder#scorerPool(int)}), pre-filled before the version is published, so a lease
 * takes a warm scorer without allocating; a lease allocates only itself. Scorers of a retired version go with it.
 * When more requests run at once than the pool holds, {@link #acquire()} makes a new scorer, and a returned scorer
 * that finds the pool full is dropped.
 *
 * <p><b>Thread-safety.</b> Thread-safe. {@link #acquire()}, {@link #score} and the counters take no lock;
 * {@link #swap(Path)} and {@link #close()} are serialized with each other and never block requests.
 */
public final class TarqEngine implements AutoCloseable {
    private final Options options;
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicInteger liveModels = new AtomicInteger();
    private final RequestMetrics metrics = new RequestMetrics(); // every version's scorers record here
    private long lastVersion;
    private volatile ServedModel current;
    private boolean closed;

    /** What every version of an engine shares: kernels, item vectors, limits, unknown-candidate policy, checks, pools. */
    record Options(KernelSupport kernels, ItemVectors itemVectors, RequestLimits limits, boolean skipUnknownCandidates,
                   boolean verifyContents, int scorerPool, int prefill) {
    }

    private TarqEngine(Options options) {
        this.options = options;
    }

    /**
     * Opens and checks {@code path} and serves it as version 1, with the default options (see {@link Builder}).
     *
     * @param path the model file
     * @return the engine
     * @throws ModelFormatException     the file is not a valid model
     * @throws IOException              the file cannot be read
     * @throws IllegalArgumentException {@code -Dio.tarq.kernels} has a value other than {@code scalar} or
     *                                  {@code panama}
     * @throws IllegalStateException    {@code -Dio.tarq.kernels=panama} where the Vector API kernels cannot run
     */
    public static TarqEngine open(Path path) throws IOException {
        return builder().open(path);
    }

    /**
     * Returns a builder to set an engine's options before opening its first model.
     *
     * @return a new builder with every option at its default
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Takes a hold on the current model for one request: close it when the request ends (try-with-resources).
     * Lock-free; allocates the lease, and a new scorer only when the version's pool is empty.
     *
     * @return a lease on the current version, with a scorer set to the engine's limits and unknown-candidate policy
     * @throws IllegalStateException the engine is closed
     */
    public ModelLease acquire() {
        while (true) {
            ServedModel served = current;
            if (served == null) {
                throw new IllegalStateException("the engine is closed");
            }
            if (served.tryRetain()) {
                Scorer scorer;
                try {
                    scorer = served.scorers().take();
                } catch (RuntimeException | Error e) {
                    served.release();
                    throw e;
                }
                return new ModelLease(served, scorer, options);
            }
            // Retired between the read and the retain: its successor is already published (or the engine closed).
            Thread.onSpinWait();
        }
    }

    /**
     * Scores one request on the current model: {@link #acquire()}, {@link Scorer#score}, close. The engine's limits
     * and unknown-candidate policy apply.
     *
     * @param mode       the model to score with
     * @param userId     the user's external id
     * @param history    the user's behaviours as external item ids, oldest first; may be empty
     * @param candidates the candidates' external item ids
     * @param out        receives one logit a candidate, in candidate order
     * @throws RequestLimitException     the request is over the engine's limits
     * @throws IllegalArgumentException  {@code out} is shorter than {@code candidates}
     * @throws UnknownCandidateException a candidate id is not in the catalog and unknown candidates are not skipped
     * @throws IllegalStateException     the engine is closed
     * @throws NullPointerException      an argument is null
     */
    public void score(Mode mode, long userId, long[] history, long[] candidates, float[] out) {
        try (ModelLease lease = acquire()) {
            lease.scorer().score(mode, userId, history, candidates, out);
        }
    }

    /**
     * Opens and checks {@code path}, then serves it in place of the current model, which is closed once its last
     * request ends. Swaps are serialized; requests are not blocked. Any failure while opening, checking or
     * pre-filling the scorer pool (exceptions and errors alike) closes the new file, counts a rejected swap
     * ({@link #rejectedSwaps()}) and is rethrown; the current model keeps serving.
     *
     * @param path the new model file
     * @return the new version's number
     * @throws ModelFormatException  the file is not a valid model: rejected, the current model keeps serving
     * @throws IOException           the file cannot be read: rejected, the current model keeps serving
     * @throws IllegalStateException the engine is closed (not counted as a rejected swap)
     */
    public synchronized long swap(Path path) throws IOException {
        if (closed) {
            throw new IllegalStateException("the engine is closed");
        }
        SwapEvent event = new SwapEvent();
        event.begin();
        event.path = path.toString();
        event.fromVersion = current.version();
        ServedModel next;
        try {
            next = load(path);
        } catch (IOException | RuntimeException | Error e) {
            // An OutOfMemoryError opening a model too large for this JVM is a rejection too: nothing changed.
            rejected.incrementAndGet();
            event.failure = e.getMessage() == null ? e.getClass().getName() : e.getMessage().lines().findFirst().orElse("");
            event.commit();
            throw e;
        }
        ServedModel old = current;
        current = next;
        accepted.incrementAndGet();
        old.release();
        event.toVersion = next.version();
        event.accepted = true;
        event.failure = "";
        event.commit();
        return next.version();
    }

    /** Opens, checks and wraps a model; on any failure nothing stays open. */
    private ServedModel load(Path path) throws IOException {
        TarqModel model = TarqModel.open(path, options.kernels(), options.itemVectors());
        try {
            if (options.verifyContents()) {
                model.file().verifyContents();
            }
            ScorerPool pool = new ScorerPool(options.scorerPool(), () -> model.newScorer(metrics)
                    .skipUnknownCandidates(options.skipUnknownCandidates()).limits(options.limits()));
            pool.prefill(options.prefill());
            ServedModel served = new ServedModel(model, ++lastVersion, pool, s -> liveModels.decrementAndGet());
            liveModels.incrementAndGet();
            return served;
        } catch (IOException | RuntimeException | Error e) {
            model.close();
            throw e;
        }
    }

    /**
     * Returns the current version's number.
     *
     * @return 1 for the first model, +1 at each accepted swap
     * @throws IllegalStateException the engine is closed
     */
    public long version() {
        return checkedCurrent().version();
    }

    /**
     * Returns the current model's file.
     *
     * @return the path the current version was opened from
     * @throws IllegalStateException the engine is closed
     */
    public Path path() {
        return checkedCurrent().path();
    }

    /**
     * Returns how many swaps replaced the model.
     *
     * @return the count of accepted swaps
     */
    public long swaps() {
        return accepted.get();
    }

    /**
     * Returns how many swaps were refused because the new file was not a valid model or could not be read.
     *
     * @return the count of rejected swaps
     */
    public long rejectedSwaps() {
        return rejected.get();
    }

    /**
     * Returns the counters of every request this engine's scorers served, across all model versions: requests and
     * time by mode, cascades, failures by kind. With {@link #version()}, {@link #swaps()}, {@link #rejectedSwaps()}
     * and {@link #liveModels()} it is what a server exports.
     *
     * @return the live counters; thread-safe, never null
     */
    public RequestMetrics metrics() {
        return metrics;
    }

    /**
     * Returns how many versions are not yet closed: the current one plus retired ones that still have leases open.
     *
     * @return the count of open versions (0 once the engine is closed and its last lease has ended)
     */
    public int liveModels() {
        return liveModels.get();
    }

    /**
     * Returns the limits every scorer of this engine checks requests against.
     *
     * @return the engine's request limits
     */
    public RequestLimits limits() {
        return options.limits();
    }

    /**
     * Stops serving: {@link #acquire()} then throws. The current model is closed when its last lease ends (at once if
     * none is open). Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        ServedModel last = current;
        current = null;
        last.release();
    }

    private ServedModel checkedCurrent() {
        ServedModel served = current;
        if (served == null) {
            throw new IllegalStateException("the engine is closed");
        }
        return served;
    }

    /**
     * Options of an engine; every one has a default. A plain mutable object, not thread-safe; one builder may open
     * several engines.
     */
    public static final class Builder {
        private KernelSupport kernels;
        private ItemVectors itemVectors = ItemVectors.FLOAT32;
        private RequestLimits limits = RequestLimits.DEFAULT;
        private boolean skipUnknownCandidates;
        private boolean verifyContents = true;
        private int scorerPool = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
        private int prefill = Runtime.getRuntime().availableProcessors();

        private Builder() {
        }

        /** The kernels (default: {@link Kernels#get()}, what this JVM supports); the engine's tests compare them. */
        Builder kernels(KernelSupport value) {
            this.kernels = Objects.requireNonNull(value, "kernels");
            return this;
        }

        /**
         * Sets what the candidate scans read for the two-tower term (default {@link ItemVectors#FLOAT32}), for every
         * version.
         *
         * @param value the item vectors
         * @return this builder
         * @throws NullPointerException {@code value} is null
         */
        public Builder itemVectors(ItemVectors value) {
            this.itemVectors = Objects.requireNonNull(value, "itemVectors");
            return this;
        }

        /**
         * Sets the largest request served (default {@link RequestLimits#DEFAULT}).
         *
         * @param value the limits
         * @return this builder
         * @throws NullPointerException {@code value} is null
         */
        public Builder limits(RequestLimits value) {
            this.limits = Objects.requireNonNull(value, "limits");
            return this;
        }

        /**
         * Sets whether unknown candidates score as NaN instead of throwing {@link UnknownCandidateException} (default
         * false).
         *
         * @param value true to skip unknown candidates
         * @return this builder
         */
        public Builder skipUnknownCandidates(boolean value) {
            this.skipUnknownCandidates = value;
            return this;
        }

        /**
         * Read every byte of a new model before serving it (default true): NaN or infinite weights, codes ≥ K and
         * non-unit {@code item.vec} rows are then rejected instead of silently giving wrong scores. It costs one pass
         * over the file per swap, off the request path. Codes are checked at open either way.
         *
         * @param value false to check only the structure and codes
         * @return this builder
         */
        public Builder verifyContents(boolean value) {
            this.verifyContents = value;
            return this;
        }

        /**
         * Sets how many idle scorers are kept per model version (default max(4, 2 × cores)); requests beyond that
         * many at once allocate a scorer each.
         *
         * @param capacity the pool's capacity, at least 1
         * @return this builder
         * @throws IllegalArgumentException {@code capacity} is below 1
         */
        public Builder scorerPool(int capacity) {
            if (capacity < 1) {
                throw new IllegalArgumentException("scorerPool = " + capacity + " must be at least 1");
            }
            this.scorerPool = capacity;
            return this;
        }

        /**
         * Sets how many scorers are made before a version is published (default: the core count); at most the pool's
         * capacity are made.
         *
         * @param count scorers to make, at least 0
         * @return this builder
         * @throws IllegalArgumentException {@code count} is negative
         */
        public Builder prefill(int count) {
            if (count < 0) {
                throw new IllegalArgumentException("prefill = " + count + " is negative");
            }
            this.prefill = count;
            return this;
        }

        /**
         * Opens and checks the first model, then serves it as version 1.
         *
         * @param path the model file
         * @return the engine
         * @throws ModelFormatException     the file is not a valid model
         * @throws IOException              the file cannot be read
         * @throws IllegalArgumentException no kernels were set and {@code -Dio.tarq.kernels} has a value other than
         *                                  {@code scalar} or {@code panama}
         * @throws IllegalStateException    no kernels were set and {@code -Dio.tarq.kernels=panama} where the Vector
         *                                  API kernels cannot run
         */
        public TarqEngine open(Path path) throws IOException {
            KernelSupport k = kernels == null ? Kernels.get() : kernels;
            TarqEngine engine = new TarqEngine(new Options(k, itemVectors, limits, skipUnknownCandidates, verifyContents, scorerPool,
                    Math.min(prefill, scorerPool)));
            synchronized (engine) {
                engine.current = engine.load(path);
            }
            return engine;
        }
    }
}
