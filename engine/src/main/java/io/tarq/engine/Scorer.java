package io.tarq.engine;

import io.tarq.engine.kernel.AttentionKeys;
import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.QueryBlocks;
import io.tarq.layout.IdIndex;
import io.tarq.layout.Layouts;
import io.tarq.layout.TarqDimensions;
import io.tarq.layout.TarqTensors;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Scores one request at a time for one thread. It owns every scratch buffer a request needs, so after the first
 * requests of the largest size have been seen it allocates nothing; it takes no lock.
 *
 * <p>A request is (user id, behaviour ids oldest first, candidate ids), with the contract's semantics: an unknown
 * user scores as row 0; unknown behaviours are dropped and of the rest the newest n_max are used; an unknown candidate
 * throws {@link UnknownCandidateException} unless {@link #skipUnknownCandidates(boolean)} is set, in which case its
 * score is NaN and it never enters a top-k. Callers that keep catalog rows use the {@code *Rows} methods and skip the
 * id lookups.
 *
 * <p>Per request, every mode first runs the user side (sequence block, user tower, readout r_u). Then:
 * TT scans {@code item.vec}; TARQ builds {@code lut[L][K]} through the serving identity (keys and u_j once, then
 * one attention row a codeword) and adds L table lookups to the TT scan; TA runs one attention row a candidate.
 */
public final class Scorer {
    /** Candidates a TA pass projects and attends at once: bounds the scratch, keeps it in L2. */
    private static final int TA_CHUNK = 128;

    private final TarqModel model;
    private final ModelWeights w;
    private final KernelSupport kernels;
    private final TarqDimensions dims;
    private final MemorySegment itemEmb;
    private final MemorySegment itemVec;
    private final MemorySegment userEmb;
    private final MemorySegment codesByItem;
    private final IdIndex items;
    private final IdIndex users;
    private final int d;
    private final int levels;
    private final int codebookSize;

    private boolean skipUnknown;

    // User side, [n_max][d] each: X, then H; projections; attention outputs.
    private final int[] historyRows;
    private final float[] x;
    private final float[] h;
    private final float[] q;
    private final float[] keys;
    private final float[] values;
    private final float[] taValues;
    private final float[] attended;
    private final float[] projected;
    private final float[] scores;
    private final AttentionKeys seqKeys;
    private final AttentionKeys userKeys;
    private final AttentionKeys taKeys;
    private final AttentionKeys rqKeys;
    private final float[] userQuery;
    private final float[] userAttended;
    private final float[] userIn;      // [x_u ; h_u], 2d
    private final float[] userHidden;  // f
    private final float[] vu;          // dv
    private final float[] uHat;        // dv
    private final float[] r;           // d
    private final float[] g;           // d
    private int historyCount;          // n after dropping and truncation
    private boolean taKeysBuilt;       // TA keys are built once a request, on first use
    private float taConstant;          // ⟨bo_ta, r⟩
    private float rqConstant;          // ⟨bo_rq, r⟩

    // Lookup tables.
    private final float[] lut;         // [L][K]
    private final byte[] lutU8;        // [L][256]
    private final float[] levelMin = new float[TarqDimensions.MAX_LEVELS];
    private float lutBias;
    private float lutInverseScale;

    // Candidates, grown on demand.
    private int[] rows = new int[0];
    private long[] candidateIds = new long[0];
    private int[] positions = new int[0];   // position in the request of each scored candidate, when some are skipped
    private float[] compact = new float[0];
    private float[] allScores = new float[0];
    private int[] rowsByPosition = new int[0];
    private int scoredCount;                // candidates of the last request that were scored
    private byte[] codeBlock = new byte[0]; // [L][stride]
    private short[] sums = new short[0];

    // Exact TA in chunks.
    private final float[] taEmb;        // [TA_CHUNK][d]
    private final float[] taQueries;    // [TA_CHUNK][d]
    private final float[] taQueriesT;   // the same in QueryBlocks layout
    private final float[] taReadouts;   // [TA_CHUNK]
    private final float[] taAttended;   // [TA_CHUNK][d]     (DIN head)
    private final float[] taT;          // [TA_CHUNK][d]     (DIN head)
    private final float[] dinIn;        // [TA_CHUNK][3d]    (DIN head)
    private final float[] dinHidden;    // [TA_CHUNK][f_ta]  (DIN head)

    // Top-k.
    private final TopKSelector selector = new TopKSelector();
    private final TopK stage = new TopK();
    private int[] stageRows = new int[0];
    private float[] stageScores = new float[0];
    private int[] stageOrder = new int[0];

    Scorer(TarqModel model) {
        this.model = model;
        this.w = model.weights();
        this.kernels = model.kernels();
        this.dims = model.dimensions();
        var file = model.file();
        this.itemEmb = file.tensor(TarqTensors.ITEM_EMB).segment();
        this.itemVec = file.tensor(TarqTensors.ITEM_VEC).segment();
        this.userEmb = file.tensor(TarqTensors.USER_EMB).segment();
        this.codesByItem = model.codesByItem();
        this.items = file.itemIndex();
        this.users = file.userIndex();
        this.d = dims.d();
        this.levels = dims.levels();
        this.codebookSize = dims.codebookSize();
        int nMax = dims.nMax(), heads = dims.heads(), dh = dims.headDim();

        historyRows = new int[nMax];
        x = new float[nMax * d];
        h = new float[nMax * d];
        q = new float[nMax * d];
        keys = new float[nMax * d];
        values = new float[nMax * d];
        taValues = new float[nMax * d];
        attended = new float[nMax * d];
        projected = new float[nMax * d];
        seqKeys = new AttentionKeys(heads, dh, nMax, null);
        userKeys = new AttentionKeys(heads, dh, nMax, null);
        taKeys = new AttentionKeys(heads, dh, nMax, w.ta.nullK);
        rqKeys = new AttentionKeys(heads, dh, nMax, w.rq.nullK);
        scores = new float[KernelSupport.SCORES_PER_KEY * seqKeys.capacity()];
        userQuery = new float[d];
        userAttended = new float[d];
        userIn = new float[2 * d];
        userHidden = new float[dims.mlpHidden()];
        vu = new float[dims.dv()];
        uHat = new float[dims.dv()];
        r = new float[d];
        g = new float[d];
        lut = new float[levels * codebookSize];
        lutU8 = new byte[levels * 256];
        taEmb = new float[TA_CHUNK * d];
        taQueries = new float[TA_CHUNK * d];
        taQueriesT = new float[QueryBlocks.length(TA_CHUNK, d)];
        taReadouts = new float[TA_CHUNK];
        boolean din = w.taMlp0T != null;
        taAttended = din ? new float[TA_CHUNK * d] : null;
        taT = din ? new float[TA_CHUNK * d] : null;
        dinIn = din ? new float[TA_CHUNK * 3 * d] : null;
        dinHidden = din ? new float[TA_CHUNK * w.taMlpHidden] : null;
    }

    /** Score unknown candidates as NaN (and leave them out of top-k) instead of throwing. Off by default. */
    public Scorer skipUnknownCandidates(boolean skip) {
        this.skipUnknown = skip;
        return this;
    }

    // ---------------------------------------------------------------- public requests

    /** Fills {@code out[0..candidates.length)} with the logits of {@code mode}, in candidate order. */
    public void score(Mode mode, long userId, long[] history, long[] candidates, float[] out) {
        int count = resolve(userId, history, candidates, out);
        scoreResolved(mode, count, candidates.length, out);
    }

    /** As {@link #score}, for callers that keep catalog rows: no id lookups, rows checked against the catalog. */
    public void scoreRows(Mode mode, int userRow, int[] historyRows, int[] candidateRows, float[] out) {
        int count = resolveRows(userRow, historyRows, candidateRows, out);
        scoreResolved(mode, count, candidateRows.length, out);
    }

    /** The {@code k} best candidates under {@code mode}, best first. */
    public TopK topK(Mode mode, long userId, long[] history, long[] candidates, int k, TopK result) {
        float[] all = allScores(candidates.length);
        score(mode, userId, history, candidates, all);
        selector.select(all, candidates.length, k, rowsByPosition(candidates.length), candidates, result);
        return result;
    }

    /**
     * The cascade: TARQ (uint8 tables) picks the best {@code kPrime} of the candidates, exact TA re-scores only those,
     * and the best {@code k} by TA come back (with TA logits), best first; ties go to the lower candidate position.
     */
    public TopK rescoreTopK(long userId, long[] history, long[] candidates, int kPrime, int k, TopK result) {
        if (kPrime < k) {
            throw new IllegalArgumentException("kPrime = " + kPrime + " is smaller than k = " + k);
        }
        float[] all = allScores(candidates.length);
        score(Mode.TARQ, userId, history, candidates, all);
        int[] byPosition = rowsByPosition(candidates.length);
        selector.select(all, candidates.length, kPrime, byPosition, candidates, stage);

        // Re-score the survivors in candidate order, so that TA ties also go to the lower position.
        int survivors = stage.size();
        if (stageRows.length < survivors) {
            stageRows = new int[survivors];
            stageScores = new float[survivors];
            stageOrder = new int[survivors];
        }
        int[] order = stageOrder;
        System.arraycopy(stage.positions, 0, order, 0, survivors);
        Arrays.sort(order, 0, survivors);
        for (int i = 0; i < survivors; i++) {
            stageRows[i] = byPosition[order[i]];
        }
        ensureCandidates(survivors);
        System.arraycopy(stageRows, 0, rows, 0, survivors);
        kernels.dotRows(itemVec, dims.dv(), rows, survivors, uHat, w.tau, w.beta, stageScores);
        buildTaKeys();
        addTargetAttention(survivors, stageScores);
        selector.select(stageScores, survivors, k, stageRows, null, result);
        for (int i = 0; i < result.size; i++) {
            int position = order[result.positions[i]];
            result.positions[i] = position;
            result.ids[i] = candidates[position];
        }
        return result;
    }

    // ---------------------------------------------------------------- request semantics

    /**
     * Resolves ids into rows, runs the user side, and returns how many candidates are scored (all of them, or those
     * known when unknown ones are skipped; their out entries are already NaN).
     */
    private int resolve(long userId, long[] history, long[] candidates, float[] out) {
        model.checkOpen();
        checkOut(candidates.length, out);
        ensureCandidates(candidates.length);
        int missing = items.rows(candidates, 0, candidates.length, rows);
        int count = candidates.length;
        if (missing > 0) {
            count = compactKnown(candidates, out);
        }
        // Behaviours: drop unknown ones, keep the newest n_max of the rest.
        int n = 0;
        for (int i = history.length - 1; i >= 0 && n < historyRows.length; i--) {
            int row = items.row(history[i]);
            if (row != IdIndex.MISSING) {
                historyRows[n++] = row;
            }
        }
        reverse(historyRows, n);
        int userRow = users.row(userId);
        userSide(userRow == IdIndex.MISSING ? 0 : userRow, n);
        return count;
    }

    private int resolveRows(int userRow, int[] history, int[] candidates, float[] out) {
        model.checkOpen();
        checkOut(candidates.length, out);
        checkRow("user row", userRow, dims.users());
        ensureCandidates(candidates.length);
        for (int i = 0; i < candidates.length; i++) {
            checkRow("candidate row", candidates[i], dims.items());
            rows[i] = candidates[i];
        }
        int n = Math.min(history.length, historyRows.length);
        int first = history.length - n;
        for (int i = 0; i < n; i++) {
            checkRow("history row", history[first + i], dims.items());
            historyRows[i] = history[first + i];
        }
        userSide(userRow, n);
        return candidates.length;
    }

    /** Unknown candidates: NaN in out, the known ones moved to the front of rows with their positions recorded. */
    private int compactKnown(long[] candidates, float[] out) {
        int count = 0;
        for (int i = 0; i < candidates.length; i++) {
            if (rows[i] == IdIndex.MISSING) {
                if (!skipUnknown) {
                    throw new UnknownCandidateException(candidates[i], i);
                }
                out[i] = Float.NaN;
            } else {
                positions[count] = i;
                rows[count++] = rows[i];
            }
        }
        return count;
    }

    private void scoreResolved(Mode mode, int count, int total, float[] out) {
        scoredCount = count;
        boolean compacted = count < total;
        float[] target = compacted ? compactScratch(count) : out;
        switch (mode) {
            case TT -> kernels.dotRows(itemVec, dims.dv(), rows, count, uHat, w.tau, w.beta, target);
            case TARQ_F32 -> {
                buildLut();
                kernels.dotRows(itemVec, dims.dv(), rows, count, uHat, w.tau, w.beta, target);
                int stride = gatherCodes(count);
                kernels.lutScanF32(codeBlock, stride, count, levels, codebookSize, lut, target);
            }
            case TARQ -> {
                buildLut();
                quantizeLut();
                kernels.dotRows(itemVec, dims.dv(), rows, count, uHat, w.tau, w.beta, target);
                int stride = gatherCodes(count);
                kernels.lutScanU8(codeBlock, stride, count, levels, lutU8, sums);
                for (int i = 0; i < count; i++) {
                    target[i] += lutBias + Short.toUnsignedInt(sums[i]) * lutInverseScale;
                }
            }
            case TA -> {
                kernels.dotRows(itemVec, dims.dv(), rows, count, uHat, w.tau, w.beta, target);
                buildTaKeys();
                addTargetAttention(count, target);
            }
        }
        if (compacted) {
            for (int i = 0; i < count; i++) {
                out[positions[i]] = target[i];
            }
        }
    }

    // ---------------------------------------------------------------- the user side

    /** Sequence block, user tower and readout: fills H (in h), û and r. */
    private void userSide(int userRow, int n) {
        int nMax = dims.nMax();
        // X_m = e_{b_m} + P[n-1-m]: the newest behaviour (m = n-1) gets P[0].
        for (int m = 0; m < n; m++) {
            MemorySegment.copy(itemEmb, Layouts.F32, (long) historyRows[m] * d * 4, x, m * d, d);
            int p = (n - 1 - m) * d;
            for (int c = 0; c < d; c++) {
                x[m * d + c] += w.pos[p + c];
            }
        }
        assert n <= nMax;
        if (n > 0) {
            AttentionWeights a = w.seq;
            kernels.linear(x, 0, n, d, a.wqT, a.bq, d, q, 0);
            kernels.linear(x, 0, n, d, a.wkT, a.bk, d, keys, 0);
            kernels.linear(x, 0, n, d, a.wvT, a.bv, d, values, 0);
            seqKeys.fill(keys, values, null, n);
            kernels.attendValues(q, n, seqKeys, values, scores, attended);
            kernels.linear(attended, 0, n, d, a.woT, a.bo, d, projected, 0);
            for (int m = 0; m < n; m++) {
                layerNorm(x, projected, m * d, h);
            }
        }
        // User tower: h_u = MHA_user(x_u; H), v_u = MLP([x_u; h_u]).
        MemorySegment.copy(userEmb, Layouts.F32, (long) userRow * d * 4, userIn, 0, d);
        AttentionWeights a = w.user;
        if (n > 0) {
            kernels.linear(userIn, 0, 1, d, a.wqT, a.bq, d, userQuery, 0);
            kernels.linear(h, 0, n, d, a.wkT, a.bk, d, keys, 0);
            kernels.linear(h, 0, n, d, a.wvT, a.bv, d, values, 0);
            userKeys.fill(keys, values, null, n);
            kernels.attendValues(userQuery, 1, userKeys, values, scores, userAttended);
            kernels.linear(userAttended, 0, 1, d, a.woT, a.bo, d, userIn, d);
        } else {
            System.arraycopy(a.bo, 0, userIn, d, d); // no history: MHA's output is bo
        }
        kernels.linear(userIn, 0, 1, 2 * d, w.userMlp0T, w.userMlp0Bias, userHidden.length, userHidden, 0);
        for (int i = 0; i < userHidden.length; i++) {
            userHidden[i] = Math.max(0f, userHidden[i]);
        }
        kernels.linear(userHidden, 0, 1, userHidden.length, w.userMlp2T, w.userMlp2Bias, vu.length, vu, 0);
        double norm = 0;
        for (float v : vu) {
            norm += (double) v * v;
        }
        float inverse = norm == 0 ? 0f : (float) (1 / Math.sqrt(norm));
        for (int i = 0; i < vu.length; i++) {
            uHat[i] = vu[i] * inverse;
        }
        kernels.linear(vu, 0, 1, vu.length, w.readoutT, w.readoutBias, d, r, 0);
        this.historyCount = n;
        this.taKeysBuilt = false;
    }

    /** H[m] = LayerNorm(X[m] + A[m]) with biased variance and eps = 1e-5. */
    private void layerNorm(float[] xs, float[] as, int offset, float[] out) {
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
        variance /= d;
        float inverse = (float) (1 / Math.sqrt(variance + 1e-5));
        for (int c = 0; c < d; c++) {
            float centered = (float) (xs[offset + c] + as[offset + c] - mean);
            out[offset + c] = centered * inverse * w.lnWeight[c] + w.lnBias[c];
        }
    }

    /** K, u_j and ⟨bo, r⟩ of an attention over H read out along r: the per-request half of the serving identity. */
    private float buildReadoutKeys(AttentionWeights a, AttentionKeys target, float[] valuesOut) {
        int n = historyCount;
        if (n > 0) {
            kernels.linear(h, 0, n, d, a.wkT, a.bk, d, keys, 0);
            kernels.linear(h, 0, n, d, a.wvT, a.bv, d, valuesOut, 0);
        }
        kernels.linear(r, 0, 1, d, a.wo, null, d, g, 0); // g = Woᵀ·r
        target.fill(keys, valuesOut, g, n);
        float constant = 0;
        for (int c = 0; c < d; c++) {
            constant += a.bo[c] * r[c];
        }
        return constant;
    }

    private void buildTaKeys() {
        if (!taKeysBuilt) {
            taConstant = buildReadoutKeys(w.ta, taKeys, taValues);
            taKeysBuilt = true;
        }
    }

    // ---------------------------------------------------------------- TARQ

    /** lut[l][k] = ⟨Pz[l,k], r_u⟩ for all L·K codewords: one attention row each, through the serving identity. */
    private void buildLut() {
        rqConstant = buildReadoutKeys(w.rq, rqKeys, values);
        kernels.attendRows(w.codewordQueries, levels * codebookSize, rqKeys, scores, lut);
        for (int i = 0; i < lut.length; i++) {
            lut[i] += rqConstant;
        }
    }

    /**
     * FAISS-style uint8 tables: each level shifted by its minimum (the minima summed into a bias), all levels scaled
     * by one factor so that the widest level spans 0..255. L ≤ 8 entries of at most 255 sum exactly in 16 bits.
     */
    private void quantizeLut() {
        float span = 0;
        float bias = 0;
        for (int l = 0; l < levels; l++) {
            float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
            for (int k = 0; k < codebookSize; k++) {
                float v = lut[l * codebookSize + k];
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            bias += min;
            span = Math.max(span, max - min);
            levelMin[l] = min;
        }
        float scale = span > 0 ? 255f / span : 1f;
        for (int l = 0; l < levels; l++) {
            float min = levelMin[l];
            for (int k = 0; k < codebookSize; k++) {
                lutU8[l * 256 + k] = (byte) Math.round((lut[l * codebookSize + k] - min) * scale);
            }
        }
        lutBias = bias;
        lutInverseScale = 1 / scale;
    }

    /** codes[L][stride] for this request's candidates, from the candidate-major copy; the padding is code 0. */
    private int gatherCodes(int count) {
        int stride = (count + 63) & ~63;
        if (codeBlock.length < levels * stride) {
            codeBlock = new byte[levels * stride];
            sums = new short[stride];
        }
        for (int i = 0; i < count; i++) {
            long base = (long) rows[i] * levels;
            for (int l = 0; l < levels; l++) {
                codeBlock[l * stride + i] = codesByItem.get(Layouts.U8, base + l);
            }
        }
        for (int l = 0; l < levels; l++) {
            Arrays.fill(codeBlock, l * stride + count, (l + 1) * stride, (byte) 0);
        }
        return stride;
    }

    // ---------------------------------------------------------------- exact TA

    /** out[i] += the teacher's attention term for candidates rows[0..count), in chunks of TA_CHUNK. */
    private void addTargetAttention(int count, float[] out) {
        for (int start = 0; start < count; start += TA_CHUNK) {
            int c = Math.min(TA_CHUNK, count - start);
            for (int i = 0; i < c; i++) {
                MemorySegment.copy(itemEmb, Layouts.F32, (long) rows[start + i] * d * 4, taEmb, i * d, d);
            }
            kernels.linear(taEmb, 0, c, d, w.ta.wqT, w.ta.bq, d, taQueries, 0);
            if (w.taMlp0T == null) {
                QueryBlocks.block(taQueries, 0, c, d, taQueriesT);
                kernels.attendRows(taQueriesT, c, taKeys, scores, taReadouts);
                for (int i = 0; i < c; i++) {
                    out[start + i] += taReadouts[i] + taConstant;
                }
            } else {
                addDinHead(c, start, out);
            }
        }
    }

    /** ℓ_TA = s_TT + MLP_ta([t ; e ⊙ t ; e]) with t = MHA_ta(e; H) in full. */
    private void addDinHead(int c, int start, float[] out) {
        kernels.attendValues(taQueries, c, taKeys, taValues, scores, taAttended);
        kernels.linear(taAttended, 0, c, d, w.ta.woT, w.ta.bo, d, taT, 0);
        for (int i = 0; i < c; i++) {
            for (int j = 0; j < d; j++) {
                float t = taT[i * d + j], e = taEmb[i * d + j];
                dinIn[i * 3 * d + j] = t;
                dinIn[i * 3 * d + d + j] = e * t;
                dinIn[i * 3 * d + 2 * d + j] = e;
            }
        }
        int f = w.taMlpHidden;
        kernels.linear(dinIn, 0, c, 3 * d, w.taMlp0T, w.taMlp0Bias, f, dinHidden, 0);
        for (int i = 0; i < c; i++) {
            float logit = w.taMlp2Bias;
            for (int j = 0; j < f; j++) {
                logit += Math.max(0f, dinHidden[i * f + j]) * w.taMlp2[j];
            }
            out[start + i] += logit;
        }
    }

    // ---------------------------------------------------------------- scratch

    private void ensureCandidates(int count) {
        if (rows.length < count) {
            int capacity = Math.max(count, rows.length * 2);
            rows = new int[capacity];
            positions = new int[capacity];
        }
    }

    private float[] compactScratch(int count) {
        if (compact.length < count) {
            compact = new float[Math.max(count, compact.length * 2)];
        }
        return compact;
    }

    private float[] allScores(int count) {
        if (allScores.length < count) {
            allScores = new float[Math.max(count, allScores.length * 2)];
        }
        return allScores;
    }

    /** The last request's rows indexed by candidate position (MISSING for skipped ones), for top-k results. */
    private int[] rowsByPosition(int total) {
        if (rowsByPosition.length < total) {
            rowsByPosition = new int[Math.max(total, rowsByPosition.length * 2)];
        }
        if (scoredCount == total) {
            System.arraycopy(rows, 0, rowsByPosition, 0, total);
        } else {
            Arrays.fill(rowsByPosition, 0, total, IdIndex.MISSING);
            for (int i = 0; i < scoredCount; i++) {
                rowsByPosition[positions[i]] = rows[i];
            }
        }
        return rowsByPosition;
    }

    private static void checkOut(int count, float[] out) {
        if (out.length < count) {
            throw new IllegalArgumentException("out holds " + out.length + " scores, the request has " + count + " candidates");
        }
    }

    private static void checkRow(String what, int row, int limit) {
        if (row < 0 || row >= limit) {
            throw new IllegalArgumentException(what + " " + row + " is out of range 0.." + (limit - 1));
        }
    }

    private static void reverse(int[] a, int n) {
        for (int i = 0, j = n - 1; i < j; i++, j--) {
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
