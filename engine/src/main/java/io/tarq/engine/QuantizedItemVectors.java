package io.tarq.engine;

import io.tarq.layout.Layouts;
import io.tarq.layout.ModelFormatException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The {@link ItemVectors#SQ8} copy of {@code item.vec}: FAISS's per-dimension 8-bit scalar quantizer. Dimension k
 * spans {@code [min_k, max_k]} over the catalog; a component is stored as the signed byte
 * {@code q = round((v − mid_k) / step_k)} with {@code mid_k = (min_k + max_k)/2} and {@code step_k = (max_k − min_k)/254},
 * so {@code |q| ≤ 127} and the reconstruction {@code mid_k + step_k·q} is within {@code step_k/2} of v.
 *
 * <p>Both constants fold into the user side, so the scan is a plain byte-times-float dot with nothing a row:
 * {@code τ·⟨û, v̂⟩ + β = τ·Σ_k (û_k·step_k)·q_k + (τ·⟨û, mid⟩ + β)} ({@link #prepare}). Rows are
 * {@link #stride()} bytes (dv rounded up to 16, zero padded), so at dv = 64 a candidate is one 64-byte cache line
 * instead of the float row's four: the scans are bound by those DRAM fetches, not by arithmetic.
 */
final class QuantizedItemVectors {
    /** Row stride in bytes: a multiple of 16, the bytes one 512-bit float vector converts from. */
    private final int stride;
    private final int dim;
    private final float[] step;
    private final float[] mid;
    private final MemorySegment rows;

    private QuantizedItemVectors(int dim, float[] step, float[] mid, MemorySegment rows) {
        this.stride = strideOf(dim);
        this.dim = dim;
        this.step = step;
        this.mid = mid;
        this.rows = rows;
    }

    static int strideOf(int dim) {
        return (dim + 15) & ~15;
    }

    /**
     * Quantizes {@code count} float rows of {@code dim} components ({@code vec}, little-endian) into memory of
     * {@code arena}.
     *
     * @throws ModelFormatException a component is NaN or infinite (it would spoil its dimension for every item)
     */
    static QuantizedItemVectors build(Path file, String tensor, MemorySegment vec, long count, int dim, Arena arena)
            throws ModelFormatException {
        // Rows are copied out in bulk (one bounds check a row, not one a component): at 1M × 64 the two passes are
        // 128M components.
        float[] row = new float[dim];
        float[] min = new float[dim];
        float[] max = new float[dim];
        Arrays.fill(min, Float.POSITIVE_INFINITY);
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
        for (long r = 0; r < count; r++) {
            MemorySegment.copy(vec, Layouts.F32, r * dim * 4L, row, 0, dim);
            for (int k = 0; k < dim; k++) {
                float v = row[k];
                if (!Float.isFinite(v)) {
                    throw ModelFormatException.ofTensor(file, tensor, "row " + r + " component " + k + " is " + v
                            + ": the sq8 item vectors need finite rows");
                }
                min[k] = Math.min(min[k], v);
                max[k] = Math.max(max[k], v);
            }
        }
        float[] step = new float[dim];
        float[] mid = new float[dim];
        for (int k = 0; k < dim && count > 0; k++) {
            mid[k] = (float) (((double) min[k] + max[k]) / 2);
            step[k] = (float) (((double) max[k] - min[k]) / 254);
        }
        int stride = strideOf(dim);
        MemorySegment rows = arena.allocate(Math.max(1, count) * stride, 64);
        byte[] quantized = new byte[stride]; // the padding stays zero
        double[] inverseStep = new double[dim];
        for (int k = 0; k < dim; k++) {
            inverseStep[k] = step[k] == 0 ? 0 : 1.0 / step[k];
        }
        for (long r = 0; r < count; r++) {
            MemorySegment.copy(vec, Layouts.F32, r * dim * 4L, row, 0, dim);
            for (int k = 0; k < dim; k++) {
                quantized[k] = quantize(row[k], mid[k], inverseStep[k]);
            }
            MemorySegment.copy(quantized, 0, rows, ValueLayout.JAVA_BYTE, r * stride, stride);
        }
        return new QuantizedItemVectors(dim, step, mid, rows);
    }

    /**
     * The byte of one component: {@code round((v − mid)/step)} clamped to ±127; {@code inverseStep} is 1/step, 0 for a
     * constant dimension (whose components are all 0).
     */
    static byte quantize(float v, float mid, double inverseStep) {
        long q = Math.round(((double) v - mid) * inverseStep);
        return (byte) Math.max(-127, Math.min(127, q));
    }

    /**
     * Folds one request's user vector into the scan's operands: fills {@code uScaled[0..stride)} with
     * {@code û_k·step_k} (zero past dv) and returns the shift {@code τ·⟨û, mid⟩ + β}.
     */
    float prepare(float[] uHat, float tau, float beta, float[] uScaled) {
        double shift = 0;
        for (int k = 0; k < dim; k++) {
            uScaled[k] = uHat[k] * step[k];
            shift += (double) uHat[k] * mid[k];
        }
        Arrays.fill(uScaled, dim, stride, 0f);
        return (float) (tau * shift + beta);
    }

    /** The most the quantized ⟨û, v̂⟩ can differ from ⟨û, v⟩ (rounding aside): {@code Σ_k |û_k|·step_k/2}. */
    double errorBound(float[] uHat) {
        double bound = 0;
        for (int k = 0; k < dim; k++) {
            bound += Math.abs(uHat[k]) * step[k] / 2;
        }
        return bound;
    }

    /**
     * The bound for any unit-length û (the contract's û is one): {@code Σ_k |û_k|·step_k/2 ≤ ‖step‖/2} by
     * Cauchy–Schwarz. Times τ, it bounds how far the sq8 two-tower logit is from the float one.
     */
    double unitErrorBound() {
        double squares = 0;
        for (float s : step) {
            squares += (double) s * s;
        }
        return Math.sqrt(squares) / 2;
    }

    /** Rows of {@link #stride()} signed bytes, row-major, 64-byte aligned. */
    MemorySegment rows() {
        return rows;
    }

    int stride() {
        return stride;
    }
}
