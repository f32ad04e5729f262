/**
 * Internal, not API: the Vector API kernels, the only package that imports {@code jdk.incubator.vector}; loaded by
 * name from {@code Kernels}, and public for the {@code jmh} kernel benchmarks.
 */
package io.tarq.engine.kernel.panama;
