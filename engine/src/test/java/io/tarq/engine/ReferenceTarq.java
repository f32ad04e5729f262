package io.tarq.engine;

import io.tarq.layout.TarqDimensions;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import io.tarq.layout.safetensors.TensorView;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The TARQ contract ({@code docs/model.md}), written out formula by formula in double precision: the
 * oracle that parity tests hold the fast engine to. Clarity beats speed here. Every attention is the full
 * multi-head attention of the contract (query, key, value and output projections, a softmax per head, concat); none
 * of the engine's shortcuts (the serving identity, folded projections, lookup tables) is used.
 *
 * <p>Inputs are rows, already resolved by the caller (request semantics: unknown user → row 0, unknown behaviours
 * dropped, at most n_max newest kept). The weights are copied to double arrays at construction; the per-item and
 * per-user rows ({@code item.emb}, {@code item.vec}, {@code item.codes}, {@code user.emb}) are read from the file
 * when needed, so the model file must stay open while this object is used.
 *
 * <p>Thread-safe. Keys and values of the two target attentions (the n rows of {@code H} projected by {@code Wk},
 * {@code Wv}) are computed once per {@link UserSide} and remembered for the last one seen, only so that scoring a few
 * hundred candidates stays fast; they are exactly what {@link #attend} would otherwise recompute per query.
 */
final class ReferenceTarq {
    static final double LAYER_NORM_EPS = 1e-5;

    /** H (n×d), v_u (dv), û = v_u/‖v_u‖ (dv), r_u = W_r·v_u + b_r (d). */
    record UserSide(double[][] h, double[] vu, double[] uHat, double[] r) {
        int n() {
            return h.length;
        }
    }

    /** {@code Linear(x) = W·x + b}, W stored [out][in]. */
    private record Linear(double[][] w, double[] b) {
        double[] apply(double[] x) {
            if (x.length != w[0].length) {
                throw new IllegalArgumentException("input of width " + x.length + ", Linear wants " + w[0].length);
            }
            double[] y = new double[w.length];
            for (int o = 0; o < w.length; o++) {
                double sum = b[o];
                for (int i = 0; i < x.length; i++) {
                    sum += w[o][i] * x[i];
                }
                y[o] = sum;
            }
            return y;
        }
    }

    /** One multi-head attention block; {@code nullK} is [h][dh] or null (no null key). */
    private record Attention(Linear query, Linear key, Linear value, Linear out, double[][] nullK) {
    }

    /** The n key rows K = H·Wkᵀ + bk and value rows V = H·Wvᵀ + bv of one attention over one H. */
    private record KeysValues(double[][] k, double[][] v) {
    }

    private final TarqDimensions dims;
    private final int d;
    private final int heads;
    private final int dh;
    private final int levels;
    private final int items;

    private final TensorView itemEmb;
    private final TensorView itemVec;
    private final TensorView itemCodes;
    private final TensorView userEmb;

    private final double[][] positions; // [n_max][d], P[0] = newest
    private final Attention seqAttn;
    private final double[] lnWeight;
    private final double[] lnBias;
    private final Attention userAttn;
    private final Linear userMlp0;
    private final Linear userMlp2;
    private final Attention taAttn;
    private final Linear readout; // W_r [d][dv], b_r [d]
    private final Linear taMlp0;  // null unless the DIN-style teacher head is present
    private final Linear taMlp2;
    private final double[][] crossA;   // A [dx][d]; null unless the cross head (format version 2) is present
    private final TensorView itemCross; // q_i = item.cross[i], as the file stores it (verified against W_x·e + b_x)
    private final double tau;
    private final double beta;
    private final double[][][] codebooks; // [L][K][d]
    private final Attention[] rqAttn;     // per level: its own query projection, shared keys/values/output

    private UserSide cachedUser;
    private final Map<Linear, KeysValues> cachedKeysValues = new IdentityHashMap<>();

    ReferenceTarq(TarqModelFile model) {
        this.dims = model.dimensions();
        this.d = dims.d();
        this.heads = dims.heads();
        this.dh = dims.headDim();
        this.levels = dims.levels();
        this.items = dims.items();
        this.itemEmb = model.tensor(TarqTensors.ITEM_EMB);
        this.itemVec = model.tensor(TarqTensors.ITEM_VEC);
        this.itemCodes = model.tensor(TarqTensors.ITEM_CODES);
        this.userEmb = model.tensor(TarqTensors.USER_EMB);

        this.positions = matrix(model, TarqTensors.SEQ_POS);
        this.seqAttn = attention(model, TarqTensors.SEQ_ATTN, null);
        this.lnWeight = vector(model, TarqTensors.SEQ_LN_WEIGHT);
        this.lnBias = vector(model, TarqTensors.SEQ_LN_BIAS);
        this.userAttn = attention(model, TarqTensors.USER_ATTN, null);
        this.userMlp0 = linear(model, TarqTensors.USER_MLP_0_WEIGHT, TarqTensors.USER_MLP_0_BIAS);
        this.userMlp2 = linear(model, TarqTensors.USER_MLP_2_WEIGHT, TarqTensors.USER_MLP_2_BIAS);
        this.taAttn = attention(model, TarqTensors.TA_ATTN,
                model.features().taNullKey() ? matrix(model, TarqTensors.TA_NULL_K) : null);
        this.readout = linear(model, TarqTensors.TA_READOUT_WEIGHT, TarqTensors.TA_READOUT_BIAS);
        if (model.features().dinTeacherHead()) {
            this.taMlp0 = linear(model, TarqTensors.TA_MLP_0_WEIGHT, TarqTensors.TA_MLP_0_BIAS);
            this.taMlp2 = linear(model, TarqTensors.TA_MLP_2_WEIGHT, TarqTensors.TA_MLP_2_BIAS);
        } else {
            this.taMlp0 = null;
            this.taMlp2 = null;
        }
        if (dims.crossHead()) {
            this.crossA = matrix(model, TarqTensors.TA_CROSS_A);
            this.itemCross = model.tensor(TarqTensors.ITEM_CROSS);
        } else {
            this.crossA = null;
            this.itemCross = null;
        }
        this.tau = model.tensor(TarqTensors.HEAD_TAU).getFloat(0);
        this.beta = model.tensor(TarqTensors.HEAD_BETA).getFloat(0);

        int k = dims.codebookSize();
        float[] c = model.tensor(TarqTensors.RQ_CODEBOOKS).toFloatArray();
        float[] wq = model.tensor(TarqTensors.attn(TarqTensors.RQ_ATTN, "wq")).toFloatArray();
        float[] bq = model.tensor(TarqTensors.attn(TarqTensors.RQ_ATTN, "bq")).toFloatArray();
        this.codebooks = new double[levels][k][];
        this.rqAttn = new Attention[levels];
        Linear key = linear(model, TarqTensors.attn(TarqTensors.RQ_ATTN, "wk"), TarqTensors.attn(TarqTensors.RQ_ATTN, "bk"));
        Linear value = linear(model, TarqTensors.attn(TarqTensors.RQ_ATTN, "wv"), TarqTensors.attn(TarqTensors.RQ_ATTN, "bv"));
        Linear out = linear(model, TarqTensors.attn(TarqTensors.RQ_ATTN, "wo"), TarqTensors.attn(TarqTensors.RQ_ATTN, "bo"));
        double[][] rqNullK = model.features().rqNullKey() ? matrix(model, TarqTensors.RQ_NULL_K) : null;
        for (int l = 0; l < levels; l++) {
            for (int code = 0; code < k; code++) {
                codebooks[l][code] = slice(c, ((long) l * k + code) * d, d);
            }
            double[][] wqLevel = new double[d][];
            for (int o = 0; o < d; o++) {
                wqLevel[o] = slice(wq, ((long) l * d + o) * d, d);
            }
            Linear query = new Linear(wqLevel, slice(bq, (long) l * d, d));
            rqAttn[l] = new Attention(query, key, value, out, rqNullK);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The user side, once per request

    /** Everything computed once per request for user row u and behaviour rows (oldest first, n = length, 0 allowed). */
    UserSide user(int userRow, int[] historyRows) {
        checkRow("user row", userRow, dims.users());
        int n = historyRows.length;
        if (n > dims.nMax()) {
            throw new IllegalArgumentException(n + " behaviours, more than n_max = " + dims.nMax());
        }
        // X_j = e_{b_j} + P[n − j], j = 1..n oldest first: 0-based row m gets P[n − 1 − m], the newest P[0].
        double[][] x = new double[n][];
        for (int m = 0; m < n; m++) {
            checkRow("behaviour row", historyRows[m], items);
            x[m] = add(itemEmbedding(historyRows[m]), positions[n - 1 - m]);
        }
        // H = LayerNorm(X + MHA_seq(X; X)), row by row.
        KeysValues seqKv = project(seqAttn, x);
        double[][] h = new double[n][];
        for (int m = 0; m < n; m++) {
            h[m] = layerNorm(add(x[m], attend(seqAttn, x[m], seqKv)));
        }
        double[] xu = row(userEmb, userRow, d);
        double[] hu = attend(userAttn, xu, project(userAttn, h));
        double[] vu = userMlp2.apply(relu(userMlp0.apply(concat(xu, hu))));
        // û = v_u/‖v_u‖; a zero v_u (never seen in practice) gives û = 0 as PyTorch's F.normalize (eps 1e-12) does.
        double[] uHat = scale(vu, 1 / Math.max(norm(vu), 1e-12));
        double[] r = readout.apply(vu);
        return new UserSide(h, vu, uHat, r);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Per candidate

    /** s_TT = τ·⟨û, î⟩ + β. */
    double tt(UserSide user, int itemRow) {
        checkRow("item row", itemRow, items);
        return tau * dot(user.uHat(), row(itemVec, itemRow, dims.dv())) + beta;
    }

    /** t(u,i) = MHA_ta(e_i; H), the exact target attention. */
    double[] t(UserSide user, int itemRow) {
        checkRow("item row", itemRow, items);
        return attend(taAttn, itemEmbedding(itemRow), keysValues(user, taAttn));
    }

    /**
     * ℓ_TA = s_TT + ⟨t, r_u⟩ (readout head), + ⟨A·t, q_i⟩ with the cross head, or s_TT + MLP_ta([t ; e_i ⊙ t ; e_i])
     * when the file has ta.mlp.*.
     */
    double ta(UserSide user, int itemRow) {
        double[] t = t(user, itemRow);
        if (crossA != null) {
            return tt(user, itemRow) + dot(t, user.r()) + cross(t, itemRow);
        }
        if (taMlp0 == null) {
            return tt(user, itemRow) + dot(t, user.r());
        }
        double[] e = itemEmbedding(itemRow);
        double[] input = concat(concat(t, multiply(e, t)), e);
        return tt(user, itemRow) + taMlp2.apply(relu(taMlp0.apply(input)))[0];
    }

    /** Pz[l,k] = MHA_rq(C_l[k]; H) with level l's query projection. */
    double[] pz(UserSide user, int level, int code) {
        checkRow("level", level, levels);
        checkRow("code", code, dims.codebookSize());
        Attention a = rqAttn[level];
        return attend(a, codebooks[level][code], keysValues(user, a));
    }

    /**
     * ℓ_TARQ = s_TT + ⟨ĥ, r_u⟩ with ĥ = Σ_l Pz[l, z_l(i)] (the readout head), + ⟨A·ĥ, q_i⟩ with the cross head: the
     * student's approximation ĥ of t in the teacher's head, not the tables the engine folds it into.
     */
    double tarq(UserSide user, int itemRow) {
        double[] hHat = new double[d];
        for (int l = 0; l < levels; l++) {
            hHat = add(hHat, pz(user, l, code(l, itemRow)));
        }
        double logit = tt(user, itemRow) + dot(hHat, user.r());
        return crossA == null ? logit : logit + cross(hHat, itemRow);
    }

    /** ⟨A·v, q_i⟩, the cross head's term for an attention output v (t or ĥ). */
    private double cross(double[] v, int itemRow) {
        double sum = 0;
        double[] q = row(itemCross, itemRow, crossA.length);
        for (int c = 0; c < crossA.length; c++) {
            sum += dot(crossA[c], v) * q[c];
        }
        return sum;
    }

    /** z_l(i): element l·N + i of item.codes (level-major). */
    int code(int level, int itemRow) {
        checkRow("item row", itemRow, items);
        return itemCodes.getUnsignedByte((long) level * items + itemRow);
    }

    /** e_i, item.emb[i]. */
    double[] itemEmbedding(int itemRow) {
        return row(itemEmb, itemRow, d);
    }

    // For finer tests: the softmax weights of every head, [h][n] or [h][n + 1] with the null key first.

    double[][] taWeights(UserSide user, int itemRow) {
        checkRow("item row", itemRow, items);
        return weights(taAttn, itemEmbedding(itemRow), keysValues(user, taAttn));
    }

    double[][] rqWeights(UserSide user, int level, int code) {
        checkRow("level", level, levels);
        checkRow("code", code, dims.codebookSize());
        Attention a = rqAttn[level];
        return weights(a, codebooks[level][code], keysValues(user, a));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Multi-head attention, as the contract defines it

    /** K = H·Wkᵀ + bk and V = H·Wvᵀ + bv, row by row. */
    private static KeysValues project(Attention a, double[][] h) {
        double[][] k = new double[h.length][];
        double[][] v = new double[h.length][];
        for (int m = 0; m < h.length; m++) {
            k[m] = a.key().apply(h[m]);
            v[m] = a.value().apply(h[m]);
        }
        return new KeysValues(k, v);
    }

    /**
     * MHA(q; H) for one query row: Q = Wq·q + bq; head j (columns [j·dh, (j+1)·dh)) takes softmax(Q_j·K_jᵀ/√dh) over
     * the n keys (and the null key first, when the block has one, whose value is the zero vector);
     * o = concat_j(a_j·V_j); out = Wo·o + bo. With n = 0, out = bo.
     */
    private double[] attend(Attention a, double[] query, KeysValues kv) {
        int n = kv.k().length;
        if (n == 0) {
            return a.out().b().clone();
        }
        double[][] w = weights(a, query, kv);
        int first = a.nullK() == null ? 0 : 1; // the null key's value is zero: it adds nothing to o
        double[] o = new double[d];
        for (int j = 0; j < heads; j++) {
            for (int m = 0; m < n; m++) {
                for (int c = j * dh; c < (j + 1) * dh; c++) {
                    o[c] += w[j][first + m] * kv.v()[m][c];
                }
            }
        }
        return a.out().apply(o);
    }

    /** Per head, the softmax weights over [null key,] key 0..n-1. */
    private double[][] weights(Attention a, double[] query, KeysValues kv) {
        int n = kv.k().length;
        double[] q = a.query().apply(query);
        double scale = 1 / Math.sqrt(dh);
        double[][] w = new double[heads][];
        for (int j = 0; j < heads; j++) {
            int first = a.nullK() == null ? 0 : 1;
            double[] scores = new double[first + n];
            if (a.nullK() != null) {
                double s = 0; // the null key is not projected by Wk
                for (int c = 0; c < dh; c++) {
                    s += q[j * dh + c] * a.nullK()[j][c];
                }
                scores[0] = s * scale;
            }
            for (int m = 0; m < n; m++) {
                double s = 0;
                for (int c = j * dh; c < (j + 1) * dh; c++) {
                    s += q[c] * kv.k()[m][c];
                }
                scores[first + m] = s * scale;
            }
            w[j] = softmax(scores);
        }
        return w;
    }

    private synchronized KeysValues keysValues(UserSide user, Attention a) {
        if (user != cachedUser) {
            cachedUser = user;
            cachedKeysValues.clear();
        }
        // Keyed by the key projection: the RQ levels share theirs (and their value projection).
        return cachedKeysValues.computeIfAbsent(a.key(), key -> project(a, user.h()));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Small math

    static double[] softmax(double[] scores) {
        double max = Double.NEGATIVE_INFINITY;
        for (double s : scores) {
            max = Math.max(max, s);
        }
        double[] w = new double[scores.length];
        double sum = 0;
        for (int i = 0; i < scores.length; i++) {
            w[i] = Math.exp(scores[i] - max);
            sum += w[i];
        }
        for (int i = 0; i < w.length; i++) {
            w[i] /= sum;
        }
        return w;
    }

    /** LayerNorm over one row: biased variance, eps 1e-5, then weight and bias. */
    private double[] layerNorm(double[] x) {
        double mean = 0;
        for (double v : x) {
            mean += v;
        }
        mean /= x.length;
        double variance = 0;
        for (double v : x) {
            variance += (v - mean) * (v - mean);
        }
        variance /= x.length;
        double inverse = 1 / Math.sqrt(variance + LAYER_NORM_EPS);
        double[] y = new double[x.length];
        for (int c = 0; c < x.length; c++) {
            y[c] = (x[c] - mean) * inverse * lnWeight[c] + lnBias[c];
        }
        return y;
    }

    static double dot(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("dot of widths " + a.length + " and " + b.length);
        }
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }

    static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    private static double[] add(double[] a, double[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] + b[i];
        }
        return y;
    }

    private static double[] multiply(double[] a, double[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] * b[i];
        }
        return y;
    }

    private static double[] scale(double[] a, double factor) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] * factor;
        }
        return y;
    }

    private static double[] relu(double[] a) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = Math.max(0, a[i]);
        }
        return y;
    }

    private static double[] concat(double[] a, double[] b) {
        double[] y = new double[a.length + b.length];
        System.arraycopy(a, 0, y, 0, a.length);
        System.arraycopy(b, 0, y, a.length, b.length);
        return y;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Reading the file

    private static void checkRow(String what, int row, int count) {
        if (row < 0 || row >= count) {
            throw new IllegalArgumentException(what + " " + row + " is outside 0.." + (count - 1));
        }
    }

    private static double[] row(TensorView view, int row, int width) {
        double[] y = new double[width];
        for (int c = 0; c < width; c++) {
            y[c] = view.getFloat((long) row * width + c);
        }
        return y;
    }

    private static double[] slice(float[] a, long offset, int length) {
        double[] y = new double[length];
        for (int i = 0; i < length; i++) {
            y[i] = a[Math.toIntExact(offset + i)];
        }
        return y;
    }

    private static double[] vector(TarqModelFile model, String name) {
        float[] a = model.tensor(name).toFloatArray();
        return slice(a, 0, a.length);
    }

    /** A rank-2 tensor as [rows][columns]. */
    private static double[][] matrix(TarqModelFile model, String name) {
        TensorView view = model.tensor(name);
        if (view.rank() != 2) {
            throw new IllegalArgumentException(name + " has shape " + view.shapeString() + ", not a matrix");
        }
        int rows = Math.toIntExact(view.dim(0));
        int columns = Math.toIntExact(view.dim(1));
        float[] a = view.toFloatArray();
        double[][] y = new double[rows][];
        for (int r = 0; r < rows; r++) {
            y[r] = slice(a, (long) r * columns, columns);
        }
        return y;
    }

    private static Linear linear(TarqModelFile model, String weight, String bias) {
        return new Linear(matrix(model, weight), vector(model, bias));
    }

    private static Attention attention(TarqModelFile model, String prefix, double[][] nullK) {
        return new Attention(
                linear(model, TarqTensors.attn(prefix, "wq"), TarqTensors.attn(prefix, "bq")),
                linear(model, TarqTensors.attn(prefix, "wk"), TarqTensors.attn(prefix, "bk")),
                linear(model, TarqTensors.attn(prefix, "wv"), TarqTensors.attn(prefix, "bv")),
                linear(model, TarqTensors.attn(prefix, "wo"), TarqTensors.attn(prefix, "bo")),
                nullK);
    }
}
