package io.tarq.engine;

import io.tarq.engine.kernel.KernelSupport;
import io.tarq.layout.TarqDimensions;

/**
 * The personalized codebook as lookup tables, built once a request:
 * {@code lut[l][k] = ⟨Pz[l,k], r_u⟩ = ⟨MHA_rq(C_l[k]; H), r_u⟩}, one attention row a codeword through the serving
 * identity (the codeword queries were projected at load), shape {@code lut[L][K]}; and its uint8 form. With the cross
 * head, the same attention rows also give {@code X[l][k] = A·Pz[l,k]}, shape {@code x[L][K][dx]}, which stays float:
 * a candidate's cross term {@code ⟨Σ_l X[l, z_l], q_i⟩} depends on the item, so it cannot fold into a byte table.
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
    final float[] x;             // [L][K][dx], or null without the cross head
    private final float[] levelMin = new float[TarqDimensions.MAX_LEVELS];
    private float bias;
    private float inverseScale;

    LookupTables(ModelWeights w, KernelSupport kernels) {
        this.kernels = kernels;
        this.w = w;
        this.student = new ReadoutAttention(w, w.rq, w.cross == null ? null : w.cross.student, kernels);
        this.levels = w.dims.levels();
        this.codebookSize = w.dims.codebookSize();
        this.scores = new float[KernelSupport.scoresLength(student.keys())];
        this.lut = new float[levels * codebookSize];
        this.lutU8 = new byte[levels * 256];
        this.x = w.cross == null ? null : new float[levels * codebookSize * w.cross.dx];
    }

    /** lut[L][K] (and x[L][K][dx] with the cross head) for this request's user side. */
    void build(UserTower user) {
        student.prepare(user);
        int rows = levels * codebookSize;
        if (x == null) {
            kernels.attendRows(w.codewordQueries, rows, student.keys(), scores, lut);
        } else {
            kernels.attendRowsCross(w.codewordQueries, rows, student.keys(), scores, lut, x);
            addToRows(x, rows, student.crossBias());
        }
        float constant = student.constant();
        for (int i = 0; i < lut.length; i++) {
            lut[i] += constant;
        }
    }

    /** {@code rows[i] += bias} for each of {@code count} rows of {@code bias.length} floats. */
    static void addToRows(float[] rows, int count, float[] bias) {
        int width = bias.length;
        for (int i = 0; i < count; i++) {
            for (int c = 0; c < width; c++) {
                rows[i * width + c] += bias[c];
            }
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
