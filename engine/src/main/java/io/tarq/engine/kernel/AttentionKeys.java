package io.tarq.engine.kernel;

/**
 * One request's side of an attention read out through the serving identity (the contract's "Serving identity"):
 * for each head j the n keys {@code K_j} and the n-vector {@code u_j[m] = ⟨V_j[m], g_j⟩} with
 * {@code g_j = Wo[:, j-block]ᵀ·r}. A query row then costs n·d multiply-adds and n·h exponentials:
 * <pre>
 *   readout(q) = Σ_j softmax(q_j·K_jᵀ [, q_j·null_k[j]]) · [u_j, 0]     (the caller adds ⟨bo, r⟩)
 * </pre>
 * Queries arrive already scaled by log₂(e)/√dh (softmax in base 2, see {@link KernelSupport}). Layouts (flat, row-major), with {@code stride} = capacity rounded up to
 * 16; the keys twice, for the two ways kernels put lanes on them:
 * <pre>
 *   keys   [n][d]            component t of key m of head j at keys[m·d + j·dh + t]  (lanes over queries)
 *   keysT  [h][dh][stride]   the same at keysT[(j·dh + t)·stride + m]                (lanes over keys)
 *   u      [h][stride]       u_j[m] at u[j·stride + m]
 *   nullK  [h][dh]           or null when the attention has no null key
 * </pre>
 * Entries at m ≥ n are never read as keys (kernels mask them). A mutable holder owned by one scorer and refilled
 * every request: no allocation on the request path.
 */
public final class AttentionKeys {
    public final int heads;
    public final int headDim;
    public final int d;
    public final int stride;
    public final float[] keys;
    public final float[] keysT;
    public final float[] u;
    /** The null key, [h][dh], or null. */
    public final float[] nullK;
    /** Keys in use this request, 0..capacity. */
    public int n;

    public AttentionKeys(int heads, int headDim, int capacity, float[] nullK) {
        this.heads = heads;
        this.headDim = headDim;
        this.d = heads * headDim;
        this.stride = Math.max(16, (capacity + 15) & ~15);
        this.keys = new float[stride * d];
        this.keysT = new float[d * stride];
        this.u = new float[heads * stride];
        this.nullK = nullK;
    }

    /** Most keys this holder takes. */
    public int capacity() {
        return stride;
    }

    /**
     * Fills the keys and u from row-major projections of the n history rows: {@code keys [n][d]} (the key
     * projection's output) and {@code values [n][d]}, with {@code g [d] = Woᵀ·r}; with {@code g} null only the keys
     * (for {@link KernelSupport#attendValues}, which reads the values themselves).
     */
    public void fill(float[] keys, float[] values, float[] g, int n) {
        if (n > stride) {
            throw new IllegalArgumentException(n + " keys exceed this holder's capacity " + stride);
        }
        this.n = n;
        System.arraycopy(keys, 0, this.keys, 0, n * d);
        for (int m = 0; m < n; m++) {
            for (int c = 0; c < d; c++) {
                keysT[c * stride + m] = keys[m * d + c];
            }
        }
        if (g == null) {
            return;
        }
        for (int j = 0; j < heads; j++) {
            for (int m = 0; m < n; m++) {
                float s = 0;
                for (int t = j * headDim; t < (j + 1) * headDim; t++) {
                    s += values[m * d + t] * g[t];
                }
                u[j * stride + m] = s;
            }
        }
    }
}
