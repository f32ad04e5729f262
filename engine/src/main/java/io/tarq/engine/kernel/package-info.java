/**
 * Internal, not API: the request arithmetic behind {@link io.tarq.engine.kernel.KernelSupport} and its lookup
 * ({@link io.tarq.engine.kernel.Kernels}); public for {@code tools} ({@code inspect}, {@code bench}, {@code demo}) and
 * the {@code jmh} kernel benchmarks.
 */
package io.tarq.engine.kernel;
