/**
 * Internal, not API: valid models with random weights, of any size; public for {@code tools} ({@code synth}) and the
 * {@code jmh} request and index benchmarks.
 */
package io.tarq.engine.synth;
