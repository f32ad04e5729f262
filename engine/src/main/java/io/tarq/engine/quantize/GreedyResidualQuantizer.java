package io.tarq.engine.quantize;

/**
 * Greedy residual quantization with fixed codebooks, as the contract defines it:
 * <pre>
 *   ρ_1 = e;   z_l = argmin_k ‖ρ_l − C_l[k]‖²;   ρ_{l+1} = ρ_l − C_l[z_l]      for l = 1..L
 * </pre>
 * Distances are summed in float directly as Σ (ρ − c)² (not through ‖c‖² − 2⟨ρ, c⟩, which cancels badly for
 * small residuals), in four interleaved partial sums so that the adds pipeline; ties go to the lowest k. Another
 * summation order (PyTorch's, a SIMD kernel's) can differ only where two codewords are within float rounding of
 * each other. Stateless after construction and thread-safe.
 *
 * <p>Layout: {@code codebooks[L][K][d]}, flat, row-major, as the file's {@code rq.codebooks}.
 */
public final class GreedyResidualQuantizer {
    private final float[] codebooks;
    private final int levels;
    private final int codebookSize;
    private final int dim;

    public GreedyResidualQuantizer(float[] codebooks, int levels, int codebookSize, int dim) {
        if ((long) levels * codebookSize * dim != codebooks.length) {
            throw new IllegalArgumentException("codebooks hold " + codebooks.length + " floats, not L·K·d = "
                    + levels + "·" + codebookSize + "·" + dim);
        }
        if (dim % 4 != 0) {
            throw new IllegalArgumentException("d = " + dim + " is not a multiple of 4");
        }
        if (codebookSize > 256) {
            throw new IllegalArgumentException("codebook_size " + codebookSize + " does not fit a one-byte code");
        }
        this.codebooks = codebooks;
        this.levels = levels;
        this.codebookSize = codebookSize;
        this.dim = dim;
    }

    public int levels() {
        return levels;
    }

    /**
     * Codes {@code embedding[offset .. offset + d)}: writes z_l to {@code codes[l * codeStride + codeOffset]}.
     * {@code residual} is caller-owned scratch of at least d floats (no allocation here).
     */
    public void encode(float[] embedding, int offset, byte[] codes, int codeOffset, int codeStride, float[] residual) {
        System.arraycopy(embedding, offset, residual, 0, dim);
        for (int l = 0; l < levels; l++) {
            int best = 0;
            float bestDistance = Float.POSITIVE_INFINITY;
            int levelBase = l * codebookSize * dim;
            for (int k = 0; k < codebookSize; k++) {
                float distance = squaredDistance(residual, codebooks, levelBase + k * dim, dim);
                if (distance < bestDistance) {
                    bestDistance = distance;
                    best = k;
                }
            }
            int codeword = levelBase + best * dim;
            for (int j = 0; j < dim; j++) {
                residual[j] -= codebooks[codeword + j];
            }
            codes[l * codeStride + codeOffset] = (byte) best;
        }
    }

    /** d is a multiple of 16 in every model, so the four-way unrolled loop has no tail. */
    private static float squaredDistance(float[] x, float[] table, int base, int dim) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int j = 0; j < dim; j += 4) {
            float d0 = x[j] - table[base + j];
            float d1 = x[j + 1] - table[base + j + 1];
            float d2 = x[j + 2] - table[base + j + 2];
            float d3 = x[j + 3] - table[base + j + 3];
            s0 += d0 * d0;
            s1 += d1 * d1;
            s2 += d2 * d2;
            s3 += d3 * d3;
        }
        return (s0 + s1) + (s2 + s3);
    }
}
