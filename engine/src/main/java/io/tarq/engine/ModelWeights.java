package io.tarq.engine;

import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.QueryBlocks;
import io.tarq.layout.TarqDimensions;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import io.tarq.layout.safetensors.TensorView;
import java.util.Arrays;

/**
 * Everything a request reads that does not grow with the catalog, copied to the heap once at load in the layout the
 * kernels want; plus the one user-independent product of the contract's serving identity, the codeword queries
 * {@code Qc[l·K + k] = (C_l[k]·Wq_lᵀ + bq_l)·log₂(e)/√dh}, shape [L·K][d], stored in the blocked layout of
 * {@link QueryBlocks}. Catalog-sized tensors stay mapped.
 */
final class ModelWeights {
    final TarqDimensions dims;
    final float[] pos;          // [n_max][d]
    final AttentionWeights seq;
    final float[] lnWeight;
    final float[] lnBias;
    final AttentionWeights user;
    final float[] userMlp0T;    // [2d][f]
    final float[] userMlp0Bias;
    final float[] userMlp2T;    // [f][dv]
    final float[] userMlp2Bias;
    final AttentionWeights ta;
    final float[] readoutT;     // [dv][d]
    final float[] readoutBias;  // [d]
    final float tau;
    final float beta;
    final AttentionWeights rq;
    final float[] codewordQueries; // [L·K][d], scaled by log₂(e)/√dh, in QueryBlocks layout (blocks of 64, transposed)
    /** DIN-style teacher head, or null: [3d][f_ta], [f_ta], [f_ta], and its output bias. */
    final float[] taMlp0T;
    final float[] taMlp0Bias;
    final float[] taMlp2;
    final float taMlp2Bias;
    final int taMlpHidden;
    /** The cross head (format version 2), or null. */
    final CrossHead cross;

    ModelWeights(TarqModelFile file, KernelSupport kernels) {
        TarqDimensions dm = file.dimensions();
        this.dims = dm;
        int d = dm.d(), dv = dm.dv(), f = dm.mlpHidden(), dh = dm.headDim();
        pos = file.tensor(TarqTensors.SEQ_POS).toFloatArray();
        seq = new AttentionWeights(file, TarqTensors.SEQ_ATTN, d, dh, null);
        lnWeight = file.tensor(TarqTensors.SEQ_LN_WEIGHT).toFloatArray();
        lnBias = file.tensor(TarqTensors.SEQ_LN_BIAS).toFloatArray();
        user = new AttentionWeights(file, TarqTensors.USER_ATTN, d, dh, null);
        userMlp0T = AttentionWeights.transpose(file.tensor(TarqTensors.USER_MLP_0_WEIGHT).toFloatArray(), f, 2 * d);
        userMlp0Bias = file.tensor(TarqTensors.USER_MLP_0_BIAS).toFloatArray();
        userMlp2T = AttentionWeights.transpose(file.tensor(TarqTensors.USER_MLP_2_WEIGHT).toFloatArray(), dv, f);
        userMlp2Bias = file.tensor(TarqTensors.USER_MLP_2_BIAS).toFloatArray();
        ta = new AttentionWeights(file, TarqTensors.TA_ATTN, d, dh, TarqTensors.TA_NULL_K);
        readoutT = AttentionWeights.transpose(file.tensor(TarqTensors.TA_READOUT_WEIGHT).toFloatArray(), d, dv);
        readoutBias = file.tensor(TarqTensors.TA_READOUT_BIAS).toFloatArray();
        tau = file.tensor(TarqTensors.HEAD_TAU).getFloat(0);
        beta = file.tensor(TarqTensors.HEAD_BETA).getFloat(0);
        rq = new AttentionWeights(file, TarqTensors.RQ_ATTN, d, dh, TarqTensors.RQ_NULL_K);
        codewordQueries = codewordQueries(file, kernels, dm);
        cross = CrossHead.of(file, ta, rq);

        taMlpHidden = file.features().taMlpHidden();
        if (file.features().dinTeacherHead()) {
            taMlp0T = AttentionWeights.transpose(file.tensor(TarqTensors.TA_MLP_0_WEIGHT).toFloatArray(), taMlpHidden, 3 * d);
            taMlp0Bias = file.tensor(TarqTensors.TA_MLP_0_BIAS).toFloatArray();
            taMlp2 = file.tensor(TarqTensors.TA_MLP_2_WEIGHT).toFloatArray();
            taMlp2Bias = file.tensor(TarqTensors.TA_MLP_2_BIAS).getFloat(0);
        } else {
            taMlp0T = null;
            taMlp0Bias = null;
            taMlp2 = null;
            taMlp2Bias = 0;
        }
    }

    /** The student's queries do not depend on the user: project every codeword once, per level. */
    private static float[] codewordQueries(TarqModelFile file, KernelSupport kernels, TarqDimensions dm) {
        int d = dm.d(), levels = dm.levels(), k = dm.codebookSize();
        float scale = AttentionWeights.queryScale(dm.headDim());
        float[] codebooks = file.tensor(TarqTensors.RQ_CODEBOOKS).toFloatArray();
        TensorView wq = file.tensor(TarqTensors.attn(TarqTensors.RQ_ATTN, "wq"));
        TensorView bq = file.tensor(TarqTensors.attn(TarqTensors.RQ_ATTN, "bq"));
        float[] queries = new float[levels * k * d];
        float[] wqAll = wq.toFloatArray();
        float[] bqAll = bq.toFloatArray();
        for (int l = 0; l < levels; l++) {
            float[] wqT = AttentionWeights.scaled(
                    AttentionWeights.transpose(Arrays.copyOfRange(wqAll, l * d * d, (l + 1) * d * d), d, d), scale);
            float[] bias = AttentionWeights.scaled(Arrays.copyOfRange(bqAll, l * d, (l + 1) * d), scale);
            kernels.linear(codebooks, l * k * d, k, d, wqT, bias, d, queries, l * k * d);
        }
        float[] blocked = new float[QueryBlocks.length(levels * k, d)];
        QueryBlocks.block(queries, 0, levels * k, d, blocked);
        return blocked;
    }
}
