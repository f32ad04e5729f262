/**
 * The engine's public API: open a TARQ model file and score a request's candidates with it.
 *
 * <ul>
 *   <li>{@link io.tarq.engine.TarqModel}: one open model, immutable and shared by all request threads.</li>
 *   <li>{@link io.tarq.engine.Scorer}: the per-thread request path ({@code score}, {@code scoreRows}, {@code topK},
 *       {@code rescoreTopK}); one thread at a time, a second thread inside it gets an
 *       {@link java.lang.IllegalStateException}.</li>
 *   <li>{@link io.tarq.engine.TarqEngine} and {@link io.tarq.engine.ModelLease}: a thread-safe holder that lends
 *       pooled scorers and replaces the model while requests run.</li>
 *   <li>{@link io.tarq.engine.Mode}, {@link io.tarq.engine.ItemVectors}, {@link io.tarq.engine.RequestLimits},
 *       {@link io.tarq.engine.TopK}: what a request computes, what the scans read, how large a request may be, and
 *       the caller-owned top-k result.</li>
 *   <li>{@link io.tarq.engine.UnknownCandidateException}, {@link io.tarq.engine.RequestLimitException}: the request
 *       faults, both {@link java.lang.IllegalArgumentException}s.</li>
 * </ul>
 *
 * <p>A scorer allocates nothing per request once its buffers have grown to the largest request it has seen; results
 * go to caller-owned arrays and {@link io.tarq.engine.TopK} holders. Run the JVM with
 * {@code --add-modules jdk.incubator.vector} for the Vector API kernels; without it the engine uses its scalar kernels
 * and logs one warning. The model file itself is read through {@code io.tarq.layout}.
 *
 * <p>The subpackages ({@code kernel}, {@code kernel.panama}, {@code catalog}, {@code quantize}, {@code synth}) are
 * internal: public for the project's tools and benchmarks, not part of this API.
 */
package io.tarq.engine;
