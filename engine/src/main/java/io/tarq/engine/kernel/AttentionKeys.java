package io.tarq.engine.kernel;

import java.util.Arrays;

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
 *   crossU [stride][h][dx]   U_j[m][c] at crossU[(m·h + j)·dx + c]      (the cross head only, else null)
 * </pre>
 * With the cross head (docs/model.md, format version 2) the same softmax weights also sum the dx-vectors
 * {@code U_j[m] = A·Wo[:, j-block]·V_j[m]}, so that a query's cross row {@code A·(MHA(q; H) − bo)} costs n·h·dx more
 * multiply-adds ({@link KernelSupport#attendRowsCross}); the caller fills {@code crossU} with one Linear over V.
 * Entries at m ≥ n are never read as keys (kernels mask them). A mutable holder owned by one scorer and refilled
 * every request: no allocation on the request path.
 *
 * <p>{@link #unshiftedNormSq} lets a kernel skip the softmax's max: a softmax is the same for any shift of its scores,
 * and the max is only there to keep 2^s in range. By Cauchy–Schwarz a query's head-j scores satisfy
 * {@code |q_j·k| ≤ ‖q_j‖·max‖k‖}; when that is at most {@link #UNSHIFTED_SCORE_LIMIT} (every trained model measured
 * here stays below 32, docs/benchmarks.md), 2^s with no shift is a normal float with no clamp and the u-weighted sum
 * cannot overflow.
 */
public final class AttentionKeys {
    /** The largest |score| (base 2) for which kernels compute 2^s without subtracting the max. */
    public static final float UNSHIFTED_SCORE_LIMIT = 64f;
    /** The largest (n + 1)·max|u_j| for which they do: the u-weighted sum stays below 2^(64 + 40), far from overflow. */
    private static final float UNSHIFTED_U_LIMIT = 0x1p40f;

    public final int heads;
    public final int headDim;
    public final int d;
    public final int stride;
    public final float[] keys;
    /** The keys transposed, built by {@link #keysT()} on first use after a {@link #fill}. */
    private final float[] keysT;
    private boolean transposed;
    public final float[] u;
    /** The null key, [h][dh], or null. */
    public final float[] nullK;
    /** dx, the width of the cross rows; 0 without the cross head. */
    public final int crossDim;
    /** U, [stride][h][dx], filled by the caller (its first n rows); null without the cross head. */
    public final float[] crossU;
    /** Keys in use this request, 0..capacity. */
    public int n;
    /**
     * Per head j: queries whose head-j squared norm ‖q_j‖² is at most this have every head-j score (null key included)
     * within ±{@link #UNSHIFTED_SCORE_LIMIT}, and their softmax may skip the max; −1 when no query may (u too large,
     * or no u this request); NaN when a key is not finite (never true in a comparison). Set by {@link #fill}.
     */
    public final float[] unshiftedNormSq;

    public AttentionKeys(int heads, int headDim, int capacity, float[] nullK) {
        this(heads, headDim, capacity, nullK, 0);
    }

    /** Keys for an attention whose queries also get cross rows of width {@code crossDim} (0: none). */
    public AttentionKeys(int heads, int headDim, int capacity, float[] nullK, int crossDim) {
        this.heads = heads;
        this.headDim = headDim;
        this.d = heads * headDim;
        this.stride = Math.max(16, (capacity + 15) & ~15);
        this.keys = new float[stride * d];
        this.keysT = new float[d * stride];
        this.u = new float[heads * stride];
        this.nullK = nullK;
        this.crossDim = crossDim;
        this.crossU = crossDim > 0 ? new float[stride * heads * crossDim] : null;
        this.unshiftedNormSq = new float[heads];
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
        transposed = false;
        if (g == null) {
            Arrays.fill(unshiftedNormSq, -1f);
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
            unshiftedNormSq[j] = unshiftedBound(j);
        }
    }

    /**
     * The keys as {@code keysT [h][dh][stride]}, for kernels with lanes over keys; transposed here on first use after
     * a {@link #fill}, since the kernels with lanes over queries (most rows of a request) read {@link #keys} alone.
     */
    public float[] keysT() {
        if (!transposed) {
            for (int m = 0; m < n; m++) {
                for (int c = 0; c < d; c++) {
                    keysT[c * stride + m] = keys[m * d + c];
                }
            }
            transposed = true;
        }
        return keysT;
    }

    /** {@link #unshiftedNormSq} of head j: LIMIT² / max‖k‖² over the keys and the null key, if u is small enough. */
    private float unshiftedBound(int j) {
        float keyNormSq = nullK == null ? 0f : squaredNorm(nullK, j * headDim);
        float uMax = 0;
        for (int m = 0; m < n; m++) {
            keyNormSq = Math.max(keyNormSq, squaredNorm(keys, m * d + j * headDim));
            uMax = Math.max(uMax, Math.abs(u[j * stride + m]));
        }
        if (!(uMax * (n + 1) <= UNSHIFTED_U_LIMIT)) {
            return -1f; // also for a NaN u
        }
        // keyNormSq = 0 gives +∞ (every score is 0); an infinite one 0 (only zero queries); a NaN one NaN (no query).
        return UNSHIFTED_SCORE_LIMIT * UNSHIFTED_SCORE_LIMIT / keyNormSq;
    }

    private float squaredNorm(float[] a, int from) {
        float s = 0;
        for (int t = from; t < from + headDim; t++) {
            s += a[t] * a[t];
        }
        return s;
    }
}
