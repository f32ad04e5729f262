/**
 * Internal, not API: greedy residual quantization with fixed codebooks; public for {@code catalog}, {@code synth}
 * and the demo's large catalog in {@code tools}.
 */
package io.tarq.engine.quantize;
