package io.tarq.engine;

import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;

/**
 * One attention block's parameters on the heap, laid out for the kernels: projections transposed ({@code [in][out]})
 * so that {@code linear} broadcasts inputs over output lanes, and the query projection pre-scaled by log₂(e)/√dh (see
 * {@link #QUERY_SCALE}) so that no kernel multiplies by it. {@code wo} and {@code wk} are also kept as stored ({@code [out][in]}): read as transposed matrices they compute
 * {@code g = Woᵀ·r}, the serving identity's per-request vector, and {@code Wkᵀ·q}, a single query carried through the
 * key projection (the user attention, {@link UserTower}).
 */
final class AttentionWeights {
    final float[] wqT;  // [d][d], × 1/√dh
    final float[] bq;   // [d], × 1/√dh
    final float[] wk;   // [d][d] as stored: linear(q, wk) = Wkᵀ·q, a query carried through the key projection
    final float[] wkT;
    final float[] bk;
    final float[] wvT;
    final float[] bv;
    final float[] wo;   // [d][d] as stored: linear(r, wo) = Woᵀ·r
    final float[] woT;  // [d][d]: linear(o, woT) = Wo·o
    final float[] bo;
    final float[] nullK; // [h][dh] or null

    AttentionWeights(TarqModelFile file, String prefix, int d, int headDim, String nullKeyName) {
        float scale = queryScale(headDim);
        this.wqT = prefix.equals(TarqTensors.RQ_ATTN) ? null : scaled(transpose(floats(file, prefix, "wq"), d, d), scale);
        this.bq = prefix.equals(TarqTensors.RQ_ATTN) ? null : scaled(floats(file, prefix, "bq"), scale);
        this.wk = floats(file, prefix, "wk");
        this.wkT = transpose(wk, d, d);
        this.bk = floats(file, prefix, "bk");
        this.wvT = transpose(floats(file, prefix, "wv"), d, d);
        this.bv = floats(file, prefix, "bv");
        this.wo = floats(file, prefix, "wo");
        this.woT = transpose(wo, d, d);
        this.bo = floats(file, prefix, "bo");
        this.nullK = nullKeyName == null ? null : file.findTensor(nullKeyName).map(t -> t.toFloatArray()).orElse(null);
    }

    /**
     * Queries are scaled by log₂(e)/√dh: the kernels' softmax is then {@code 2^(s − max)}, which needs no range
     * reduction by ln 2 (the exponential is the kernels' costliest part), and equals the contract's
     * {@code exp((q·k)/√dh − max)}.
     */
    static final String QUERY_SCALE = "log2(e)/sqrt(dh)";

    static float queryScale(int headDim) {
        return (float) (1 / (Math.log(2) * Math.sqrt(headDim)));
    }

    private static float[] floats(TarqModelFile file, String prefix, String parameter) {
        return file.tensor(TarqTensors.attn(prefix, parameter)).toFloatArray();
    }

    /** {@code [rows][cols]} → {@code [cols][rows]}. */
    static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = m[r * cols + c];
            }
        }
        return t;
    }

    static float[] scaled(float[] v, float scale) {
        for (int i = 0; i < v.length; i++) {
            v[i] *= scale;
        }
        return v;
    }
}
