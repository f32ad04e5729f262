package io.tarq.engine;

import io.tarq.engine.kernel.AttentionKeys;
import io.tarq.engine.kernel.KernelSupport;

/**
 * A target attention over H read out along r_u (the student's MHA_rq or the teacher's MHA_ta), and its per-request
 * half of the serving identity: the keys {@code K = H·Wkᵀ + bk}, the values {@code V = H·Wvᵀ + bv}, the n-vectors
 * {@code u_j[m] = ⟨V_j[m], g_j⟩} with {@code g = Woᵀ·r}, and the constant {@code ⟨bo, r⟩}. After {@link #prepare},
 * each query row costs n·d multiply-adds ({@link KernelSupport#attendRows}). With the cross head it also fills the keys'
 * {@code U = V·valuesT} ({@link CrossHead.Projection}), for {@link KernelSupport#attendRowsCross}.
 */
final class ReadoutAttention {
    private final KernelSupport kernels;
    private final AttentionWeights a;
    private final CrossHead.Projection cross; // null without the cross head
    private final int d;
    private final AttentionKeys keys;
    private final float[] keyRows;   // [n_max][d]
    private final float[] values;    // [n_max][d]
    private final float[] g;         // [d]
    private float constant;

    ReadoutAttention(ModelWeights w, AttentionWeights a, CrossHead.Projection cross, KernelSupport kernels) {
        this.kernels = kernels;
        this.a = a;
        this.cross = cross;
        this.d = w.dims.d();
        int nMax = w.dims.nMax();
        this.keys = new AttentionKeys(w.dims.heads(), w.dims.headDim(), nMax, a.nullK, w.dims.crossDim());
        this.keyRows = new float[nMax * d];
        this.values = new float[nMax * d];
        this.g = new float[d];
    }

    /** Keys, values, u_j and ⟨bo, r⟩ for this request's H and r. */
    void prepare(UserTower user) {
        int n = user.n();
        if (n > 0) {
            kernels.linear(user.h(), 0, n, d, a.wkT, a.bk, d, keyRows, 0);
            kernels.linear(user.h(), 0, n, d, a.wvT, a.bv, d, values, 0);
            if (cross != null) {
                int width = keys.heads * keys.crossDim;
                kernels.linear(values, 0, n, d, cross.valuesT(), null, width, keys.crossU, 0);
            }
        }
        float[] r = user.r();
        kernels.linear(r, 0, 1, d, a.wo, null, d, g, 0); // g = Woᵀ·r
        keys.fill(keyRows, values, g, n);
        float c = 0;
        for (int i = 0; i < d; i++) {
            c += a.bo[i] * r[i];
        }
        constant = c;
    }

    AttentionKeys keys() {
        return keys;
    }

    /** V, [n][d]: what a head's full output (not only its readout) is made of. */
    float[] values() {
        return values;
    }

    /** A·bo, every cross row's constant term (the cross head only). */
    float[] crossBias() {
        return cross.bias();
    }

    /** ⟨bo, r⟩: every readout's constant term. */
    float constant() {
        return constant;
    }
}
