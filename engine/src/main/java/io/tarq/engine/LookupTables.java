package io.tarq.engine;

import io.tarq.engine.kernel.KernelSupport;
import io.tarq.layout.TarqDimensions;

/**
 * The personalized codebook as lookup tables, built once a request:
 * {@code lut[l][k] = ⟨Pz[l,k], r_u⟩ = ⟨MHA_rq(C_l[k]; H), r_u⟩}, one attention row a codeword through the serving
 * identity (the codeword queries were projected at load), shape {@code lut[L][K]}; and its uint8 form.
 */
final class LookupTables {
    private final KernelSupport kernels;
    private final ModelWeights w;
    private final ReadoutAttention student;
    private final int levels;
    private final int codebookSize;
    private final float[] scores;
    final float[] lut;           // [L][K]
    final byte[] lutU8;          // [L][256]
    private final float[] levelMin = new float[TarqDimensions.MAX_LEVELS];
    private float bias;
    private float inverseScale;

    LookupTables(ModelWeights w, KernelSupport kernels) {
        this.kernels = kernels;
        this.w = w;
        this.student = new ReadoutAttention(w, w.rq, kernels);
        this.levels = w.dims.levels();
        this.codebookSize = w.dims.codebookSize();
        this.scores = new float[KernelSupport.SCORES_PER_KEY * student.keys().capacity()];
        this.lut = new float[levels * codebookSize];
        this.lutU8 = new byte[levels * 256];
    }

    /** lut[L][K] for this request's user side. */
    void build(UserTower user) {
        student.prepare(user);
        kernels.attendRows(w.codewordQueries, levels * codebookSize, student.keys(), scores, lut);
        float constant = student.constant();
        for (int i = 0; i < lut.length; i++) {
            lut[i] += constant;
        }
    }

    /**
     * FAISS-style uint8 tables from {@link #lut}: each level shifted by its minimum (the minima summed into a bias),
     * all levels scaled by one factor so that the widest level spans 0..255. L ≤ 8 entries of at most 255 sum exactly
     * in 16 bits; a candidate's logit term is then {@code bias + sum · inverseScale}.
     */
    void quantize() {
        float span = 0;
        float sumOfMinima = 0;
        for (int l = 0; l < levels; l++) {
            float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
            for (int k = 0; k < codebookSize; k++) {
                float v = lut[l * codebookSize + k];
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            sumOfMinima += min;
            span = Math.max(span, max - min);
            levelMin[l] = min;
        }
        float scale = span > 0 ? 255f / span : 1f;
        for (int l = 0; l < levels; l++) {
            for (int k = 0; k < codebookSize; k++) {
                lutU8[l * 256 + k] = (byte) Math.round((lut[l * codebookSize + k] - levelMin[l]) * scale);
            }
        }
        bias = sumOfMinima;
        inverseScale = 1 / scale;
    }

    float bias() {
        return bias;
    }

    float inverseScale() {
        return inverseScale;
    }
}
