package io.tarq.engine;

import io.tarq.engine.kernel.AttentionKeys;
import io.tarq.engine.kernel.KernelSupport;
import io.tarq.layout.Layouts;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import java.lang.foreign.MemorySegment;

/**
 * The user side of a request, every mode's first step (the contract's forward pass up to r_u):
 * <pre>
 *   X_m = e_{b_m} + P[n-1-m]                 the newest behaviour gets P[0]
 *   H   = LayerNorm(X + MHA_seq(X; X))       n rows
 *   h_u = MHA_user(x_u; H),   v_u = MLP_user([x_u ; h_u]),   û = v_u/‖v_u‖,   r_u = W_r·v_u + b_r
 * </pre>
 * One per scorer; its buffers are sized for n_max and reused by every request.
 */
final class UserTower {
    private final KernelSupport kernels;
    private final ModelWeights w;
    private final MemorySegment itemEmb;
    private final MemorySegment userEmb;
    private final int d;

    private final float[] x;          // [n_max][d]
    private final float[] h;          // [n_max][d]: H
    private final float[] q;
    private final float[] keys;
    private final float[] values;
    private final float[] attended;
    private final float[] projected;
    private final float[] scores;
    private final AttentionKeys seqKeys;
    private final AttentionKeys historyKeys; // one head of width d over the rows of H
    private final float[] userQuery;
    private final float[] headQueries;  // [h][d]: row j holds q_j in head j's components, zeros elsewhere
    private final float[] headKeys;     // [h][d]: row j is Wk_jᵀ·q_j
    private final float[] pooled;       // [h][d]: row j is Σ_m α_j[m]·H[m]
    private final float[] headValues;   // [h][d]: row j is Wv·pooled_j + bv, of which head j's components are kept
    private final float[] userAttended;
    private final float[] userIn;     // [x_u ; h_u], 2d
    private final float[] hidden;     // f
    private final float[] vu;         // dv
    private final float[] uHat;       // dv
    private final float[] r;          // d
    private int n;

    UserTower(TarqModelFile file, ModelWeights w, KernelSupport kernels) {
        this.kernels = kernels;
        this.w = w;
        this.itemEmb = file.tensor(TarqTensors.ITEM_EMB).segment();
        this.userEmb = file.tensor(TarqTensors.USER_EMB).segment();
        this.d = w.dims.d();
        int nMax = w.dims.nMax(), heads = w.dims.heads(), dh = w.dims.headDim();
        x = new float[nMax * d];
        h = new float[nMax * d];
        q = new float[nMax * d];
        keys = new float[nMax * d];
        values = new float[nMax * d];
        attended = new float[nMax * d];
        projected = new float[nMax * d];
        seqKeys = new AttentionKeys(heads, dh, nMax, null);
        historyKeys = new AttentionKeys(1, d, nMax, null);
        scores = new float[Math.max(KernelSupport.scoresLength(seqKeys), KernelSupport.scoresLength(historyKeys))];
        userQuery = new float[d];
        headQueries = new float[heads * d];
        headKeys = new float[heads * d];
        pooled = new float[heads * d];
        headValues = new float[heads * d];
        userAttended = new float[d];
        userIn = new float[2 * d];
        hidden = new float[w.dims.mlpHidden()];
        vu = new float[w.dims.dv()];
        uHat = new float[w.dims.dv()];
        r = new float[d];
    }

    /** Runs the user side for user row {@code userRow} and behaviour rows {@code history[0..n)}, oldest first. */
    void compute(int userRow, int[] history, int n) {
        this.n = n;
        // One load a line of every history row before any copy: the rows' cache misses overlap, where one copy after
        // another waits out a miss each; the copies then read cache. The sum is kept so that the loads stay.
        float touched = 0;
        long rowBytes = 4L * d;
        for (int m = 0; m < n; m++) {
            long base = history[m] * rowBytes;
            for (long b = 0; b < rowBytes; b += 64) {
                touched += itemEmb.get(Layouts.F32, base + b);
            }
        }
        x[0] = touched; // overwritten by the first copy
        // Bulk copies out of the mapping, not vector loads: if the served file is truncated in place, a copy's fault
        // becomes an InternalError in this thread, where a compiled vector load's SIGBUS crashes the JVM. The user row
        // lies after item.emb and item.vec in the files the writers here produce, so a cut that reaches the float scans'
        // vector loads faults in a copy first (MappedFileFaultTest; docs/reliability.md).
        for (int m = 0; m < n; m++) {
            MemorySegment.copy(itemEmb, Layouts.F32, (long) history[m] * d * 4, x, m * d, d);
            int p = (n - 1 - m) * d;
            for (int c = 0; c < d; c++) {
                x[m * d + c] += w.pos[p + c];
            }
        }
        if (n > 0) {
            AttentionWeights a = w.seq;
            kernels.linear(x, 0, n, d, a.wqT, a.bq, d, q, 0);
            kernels.linear(x, 0, n, d, a.wkT, a.bk, d, keys, 0);
            kernels.linear(x, 0, n, d, a.wvT, a.bv, d, values, 0);
            seqKeys.fill(keys, values, null, n);
            kernels.attendValues(q, n, seqKeys, values, scores, attended);
            kernels.linear(attended, 0, n, d, a.woT, a.bo, d, projected, 0);
            layerNorm(x, projected, n, h);
        }
        MemorySegment.copy(userEmb, Layouts.F32, (long) userRow * d * 4, userIn, 0, d);
        AttentionWeights a = w.user;
        if (n > 0) {
            kernels.linear(userIn, 0, 1, d, a.wqT, a.bq, d, userQuery, 0);
            attendHistory(a, n);
            kernels.linear(userAttended, 0, 1, d, a.woT, a.bo, d, userIn, d);
        } else {
            System.arraycopy(a.bo, 0, userIn, d, d); // no history: MHA's output is bo
        }
        kernels.linear(userIn, 0, 1, 2 * d, w.userMlp0T, w.userMlp0Bias, hidden.length, hidden, 0);
        for (int i = 0; i < hidden.length; i++) {
            hidden[i] = Math.max(0f, hidden[i]);
        }
        kernels.linear(hidden, 0, 1, hidden.length, w.userMlp2T, w.userMlp2Bias, vu.length, vu, 0);
        double norm = 0;
        for (float v : vu) {
            norm += (double) v * v;
        }
        float inverse = norm == 0 ? 0f : (float) (1 / Math.sqrt(norm));
        for (int i = 0; i < vu.length; i++) {
            uHat[i] = vu[i] * inverse;
        }
        kernels.linear(vu, 0, 1, vu.length, w.readoutT, w.readoutBias, d, r, 0);
    }

    /**
     * The user attention's one query over H, before its output projection, without projecting H: for head j
     * <pre>
     *   q_j·(H[m]·Wk_jᵀ + bk_j) = H[m]·(Wk_jᵀ·q_j) + q_j·bk_j          the constant leaves the softmax unchanged
     *   Σ_m α_j[m]·(H[m]·Wv_jᵀ + bv_j) = (Σ_m α_j[m]·H[m])·Wv_jᵀ + bv_j   since Σ_m α_j[m] = 1
     * </pre>
     * so each head is one query Wk_jᵀ·q_j of width d over the n rows of H as keys and values, and only its weighted
     * sum of H is projected: h·d·(2d + 2n) multiply-adds (58k at the defaults) where the keys and values of H take
     * 2·n·d² (410k). The same function of the weights, in another order of float roundings.
     */
    private void attendHistory(AttentionWeights a, int n) {
        int heads = w.dims.heads(), dh = w.dims.headDim();
        for (int j = 0; j < heads; j++) {
            System.arraycopy(userQuery, j * dh, headQueries, j * d + j * dh, dh); // the zeros around it never change
        }
        kernels.linear(headQueries, 0, heads, d, a.wk, null, d, headKeys, 0);
        historyKeys.fill(h, null, null, n);
        kernels.attendValues(headKeys, heads, historyKeys, h, scores, pooled);
        kernels.linear(pooled, 0, heads, d, a.wvT, a.bv, d, headValues, 0);
        for (int j = 0; j < heads; j++) {
            System.arraycopy(headValues, j * d + j * dh, userAttended, j * dh, dh);
        }
    }

    /**
     * H[m] = LayerNorm(X[m] + A[m]) for the n rows, with biased variance and eps = 1e-5. A row's mean and variance are
     * double sums over its d components in component order, each a chain of dependent adds; four rows run side by
     * side, so four chains overlap instead of one waiting out the add latency at every component (the same bits).
     */
    private void layerNorm(float[] xs, float[] as, int n, float[] out) {
        int m = 0;
        for (; m + 4 <= n; m += 4) {
            int o0 = m * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
            double mean0 = 0, mean1 = 0, mean2 = 0, mean3 = 0;
            for (int c = 0; c < d; c++) {
                mean0 += xs[o0 + c] + as[o0 + c];
                mean1 += xs[o1 + c] + as[o1 + c];
                mean2 += xs[o2 + c] + as[o2 + c];
                mean3 += xs[o3 + c] + as[o3 + c];
            }
            mean0 /= d;
            mean1 /= d;
            mean2 /= d;
            mean3 /= d;
            double variance0 = 0, variance1 = 0, variance2 = 0, variance3 = 0;
            for (int c = 0; c < d; c++) {
                double c0 = xs[o0 + c] + as[o0 + c] - mean0, c1 = xs[o1 + c] + as[o1 + c] - mean1;
                double c2 = xs[o2 + c] + as[o2 + c] - mean2, c3 = xs[o3 + c] + as[o3 + c] - mean3;
                variance0 += c0 * c0;
                variance1 += c1 * c1;
                variance2 += c2 * c2;
                variance3 += c3 * c3;
            }
            normalize(xs, as, o0, mean0, variance0, out);
            normalize(xs, as, o1, mean1, variance1, out);
            normalize(xs, as, o2, mean2, variance2, out);
            normalize(xs, as, o3, mean3, variance3, out);
        }
        for (; m < n; m++) {
            int offset = m * d;
            double mean = 0;
            for (int c = 0; c < d; c++) {
                mean += xs[offset + c] + as[offset + c];
            }
            mean /= d;
            double variance = 0;
            for (int c = 0; c < d; c++) {
                double centered = xs[offset + c] + as[offset + c] - mean;
                variance += centered * centered;
            }
            normalize(xs, as, offset, mean, variance, out);
        }
    }

    /** One row of {@link #layerNorm} from its mean and its sum of squared deviations. */
    private void normalize(float[] xs, float[] as, int offset, double mean, double squares, float[] out) {
        float inverse = (float) (1 / Math.sqrt(squares / d + 1e-5));
        kernels.layerNormRow(xs, as, offset, d, mean, inverse, w.lnWeight, w.lnBias, out);
    }

    /** Behaviours used by the last {@link #compute}. */
    int n() {
        return n;
    }

    /** H, [n][d]. */
    float[] h() {
        return h;
    }

    /** û, the unit user vector of the two-tower logit. */
    float[] uHat() {
        return uHat;
    }

    /** r_u, the readout every attention term is projected on. */
    float[] r() {
        return r;
    }
}
