package io.tarq.engine;

import io.tarq.engine.kernel.KernelSupport;
import io.tarq.layout.IdIndex;
import io.tarq.layout.TarqDimensions;
import io.tarq.layout.TarqTensors;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Scores one request at a time for one thread. It owns every scratch buffer a request needs, so after the first
 * requests of the largest size have been seen it allocates nothing; it takes no lock. A second thread that enters a
 * scorer while another is inside it gets an {@link IllegalStateException} instead of scores computed in shared
 * scratch: one compare-and-set a call finds the misuse. Threads take a scorer each ({@link TarqModel#newScorer()})
 * or share a {@link TarqEngine}, which lends them out.
 *
 * <p><b>Allocation.</b> Scratch arrays grow only when a request needs more room than any before it (more candidates,
 * or a larger k or k'); the per-candidate arrays then at least double. Results go to the caller's arrays: {@code out}
 * for the score methods, the caller's {@link TopK} for the top-k methods, which grows only when its capacity is below
 * the result's size. Request limits are checked before anything grows ({@link #limits(RequestLimits)}).
 *
 * <p><b>Lifetime.</b> A scorer is bound to the model that made it and reads its memory: once that model is closed,
 * every request throws {@link IllegalStateException}.
 *
 * <p>A request is (user id, behaviour ids oldest first, candidate ids), with the contract's semantics: an unknown
 * user scores as row 0; unknown behaviours are dropped and of the rest the newest n_max are used; an unknown candidate
 * throws {@link UnknownCandidateException} unless {@link #skipUnknownCandidates(boolean)} is set, in which case its
 * score is NaN and it never enters a top-k. Callers that keep catalog rows use the {@code *Rows} methods and skip the
 * id lookups.
 *
 * <p>Per request, every mode first runs the user side (sequence block, user tower, readout r_u). Then:
 * TT scans {@code item.vec} (or its 8-bit copy, when the model was opened with {@link ItemVectors#SQ8}); TARQ
 * builds {@code lut[L][K]} through the serving identity (keys and u_j once, then one attention row a codeword) and
 * adds L table lookups to the TT scan; TA runs one attention row a candidate (on the float rows, whatever the scans
 * read).
 */
public final class Scorer {
    private final TarqModel model;
    private final ModelWeights w;
    private final KernelSupport kernels;
    private final TarqDimensions dims;
    private final MemorySegment itemVec;
    private final MemorySegment itemCross;               // item.cross [N][dx], or null without the cross head
    private final QuantizedItemVectors quantizedVectors; // null: the scans read the float rows
    private final ItemRecords records;                   // non-null: TARQ reads item.vec and item.cross rows together
    private final float[] uScaled;                       // û ⊙ step, the sq8 scan's user vector
    private final IdIndex items;
    private final boolean codesInIndex;     // the item index's payloads are the codes (L ≤ 4)
    private final IdIndex users;
    private final int levels;
    private final int codebookSize;

    private final UserTower user;
    private final LookupTables tables;
    private final CandidateCodes codes;
    private final TeacherAttention teacher;

    private final AtomicReference<Thread> occupant = new AtomicReference<>(); // the thread inside a call, or null
    private final RequestMetrics metrics;   // the model's or the engine's: shared by scorers, thread-safe

    private boolean skipUnknown;
    private RequestLimits limits = RequestLimits.DEFAULT;
    private final int[] historyRows;        // n_max

    // Candidates, grown on demand.
    private int[] rows = new int[0];
    private int[] packedCodes = new int[0]; // each candidate's codes from its id lookup, when codesResolved
    private boolean codesResolved;          // the last request came by ids and its codes are in packedCodes
    private int[] positions = new int[0];   // position in the request of each scored candidate, when some are skipped
    private float[] compact = new float[0];
    private float[] crossTerms = new float[0]; // the cross head's candidate terms of the last TARQ request
    private float[] allScores = new float[0];
    private int[] rowsByPosition = new int[0];
    private int scoredCount;                // candidates of the last request that were scored

    // Top-k and the cascade.
    private final TopKSelector selector = new TopKSelector();
    private final TopK stage = new TopK();
    private int[] stageRows = new int[0];
    private float[] stageScores = new float[0];
    private int[] stageOrder = new int[0];

    Scorer(TarqModel model, RequestMetrics metrics) {
        this.model = model;
        this.metrics = metrics;
        this.w = model.weights();
        this.kernels = model.kernels();
        this.dims = model.dimensions();
        var file = model.file();
        this.itemVec = file.tensor(TarqTensors.ITEM_VEC).segment();
        this.itemCross = dims.crossHead() ? file.tensor(TarqTensors.ITEM_CROSS).segment() : null;
        this.quantizedVectors = model.quantizedVectors();
        this.records = model.records();
        this.uScaled = quantizedVectors == null ? null : new float[quantizedVectors.stride()];
        this.items = file.itemIndex();
        this.codesInIndex = file.codesInItemIndex();
        this.users = file.userIndex();
        this.levels = dims.levels();
        this.codebookSize = dims.codebookSize();
        this.user = new UserTower(file, w, kernels);
        this.tables = new LookupTables(w, kernels);
        this.codes = new CandidateCodes(model.codesByItem(), levels);
        this.teacher = new TeacherAttention(file, w, kernels);
        this.historyRows = new int[dims.nMax()];
    }

    /**
     * Sets whether an unknown candidate id scores as NaN (and is left out of top-k results) instead of throwing
     * {@link UnknownCandidateException}. Off by default. Applies to the id methods only: {@link #scoreRows} rejects an
     * out-of-range row whatever this says.
     *
     * @param skip true to score unknown candidates as NaN, false to throw
     * @return this scorer
     * @throws IllegalStateException another thread is inside this scorer
     */
    public Scorer skipUnknownCandidates(boolean skip) {
        enter();
        try {
            this.skipUnknown = skip;
            return this;
        } finally {
            exit();
        }
    }

    /**
     * Sets the largest request this scorer accepts (default {@link RequestLimits#DEFAULT}); a larger one throws
     * {@link RequestLimitException} before any work and before any buffer grows.
     *
     * @param value the limits
     * @return this scorer
     * @throws NullPointerException  {@code value} is null
     * @throws IllegalStateException another thread is inside this scorer
     */
    public Scorer limits(RequestLimits value) {
        java.util.Objects.requireNonNull(value, "limits");
        enter();
        try {
            this.limits = value;
            return this;
        } finally {
            exit();
        }
    }

    /**
     * Returns the limits this scorer checks each request against.
     *
     * @return the current limits
     */
    public RequestLimits limits() {
        return limits;
    }

    // ---------------------------------------------------------------- public requests

    /**
     * Fills {@code out[0..candidates.length)} with the logits of {@code mode}, in candidate order. An unknown user
     * scores as row 0, unknown behaviours are dropped and the newest n_max known ones are used. Allocates nothing once
     * the scratch has grown to the request's candidate count.
     *
     * @param mode       the model to score with
     * @param userId     the user's external id
     * @param history    the user's behaviours as external item ids, oldest first; may be empty
     * @param candidates the candidates' external item ids
     * @param out        receives one logit a candidate (NaN for a skipped unknown candidate); entries past
     *                   {@code candidates.length} are not touched
     * @throws RequestLimitException     {@code candidates} or {@code history} is over this scorer's limits
     * @throws IllegalArgumentException  {@code out} is shorter than {@code candidates}
     * @throws UnknownCandidateException a candidate id is not in the catalog and unknown candidates are not skipped
     * @throws IllegalStateException     another thread is inside this scorer, or the model is closed
     * @throws NullPointerException      an argument is null
     */
    public void score(Mode mode, long userId, long[] history, long[] candidates, float[] out) {
        score(mode, userId, history, 0, history.length, candidates, 0, candidates.length, out, 0);
    }

    /**
     * As {@link #score(Mode, long, long[], long[], float[])} on slices of the caller's arrays, so that pooled or
     * shared buffers need no copy: the behaviours are {@code history[historyOffset..historyOffset+historyLength)},
     * the candidates {@code candidates[candidateOffset..candidateOffset+candidateCount)}, and the logit of candidate
     * {@code i} of the slice goes to {@code out[outOffset + i]}. Positions in exceptions are positions in the slice.
     * Allocates nothing once the scratch has grown to the request's candidate count.
     *
     * @param mode            the model to score with
     * @param userId          the user's external id
     * @param history         an array holding the user's behaviours as external item ids, oldest first
     * @param historyOffset   index of the oldest behaviour in {@code history}
     * @param historyLength   behaviours in the slice; may be 0
     * @param candidates      an array holding the candidates' external item ids
     * @param candidateOffset index of the first candidate in {@code candidates}
     * @param candidateCount  candidates in the slice
     * @param out             receives the logits (NaN for a skipped unknown candidate); entries outside
     *                        {@code out[outOffset..outOffset+candidateCount)} are not touched
     * @param outOffset       where the first candidate's logit goes in {@code out}
     * @throws IndexOutOfBoundsException a history or candidate slice does not fit its array
     * @throws IllegalArgumentException  the output slice does not fit {@code out}
     * @throws RequestLimitException     the slices are over this scorer's limits
     * @throws UnknownCandidateException a candidate id is not in the catalog and unknown candidates are not skipped
     * @throws IllegalStateException     another thread is inside this scorer, or the model is closed
     * @throws NullPointerException      an argument is null
     */
    public void score(Mode mode, long userId, long[] history, int historyOffset, int historyLength,
                      long[] candidates, int candidateOffset, int candidateCount, float[] out, int outOffset) {
        long start = enter();
        RequestEvent event = RequestEvent.beginIfEnabled();
        RuntimeException failure = null;
        try {
            scoreIds(mode, userId, history, historyOffset, historyLength, candidates, candidateOffset, candidateCount,
                    out, outOffset);
            metrics.completed(mode, System.nanoTime() - start);
        } catch (RuntimeException e) {
            metrics.failed(failure = e);
            throw e;
        } finally {
            if (event != null) {
                event.finish("score", mode, candidateCount, historyLength, 0, failure);
            }
            exit();
        }
    }

    /**
     * As {@link #score}, for callers that keep catalog rows: no id lookups. Every row is checked against the
     * catalog; of the history, only the newest n_max rows are used (and checked). Allocates nothing once the scratch
     * has grown to the request's candidate count.
     *
     * @param mode          the model to score with
     * @param userRow       the user's row in {@code user.emb} (0 is the unknown user)
     * @param historyRows   the behaviours' rows in the item tensors, oldest first; may be empty
     * @param candidateRows the candidates' rows in the item tensors
     * @param out           receives one logit a candidate, in candidate order
     * @throws RequestLimitException    {@code candidateRows} or {@code historyRows} is over this scorer's limits
     * @throws IllegalArgumentException {@code out} is shorter than {@code candidateRows}, or a row is out of range
     * @throws IllegalStateException    another thread is inside this scorer, or the model is closed
     * @throws NullPointerException     an argument is null
     */
    public void scoreRows(Mode mode, int userRow, int[] historyRows, int[] candidateRows, float[] out) {
        long start = enter();
        RequestEvent event = RequestEvent.beginIfEnabled();
        RuntimeException failure = null;
        try {
            int count = resolveRows(userRow, historyRows, candidateRows, out);
            scoreResolved(mode, count, candidateRows.length, out, 0);
            metrics.completed(mode, System.nanoTime() - start);
        } catch (RuntimeException e) {
            metrics.failed(failure = e);
            throw e;
        } finally {
            if (event != null) {
                event.finish("scoreRows", mode, candidateRows.length, historyRows.length, 0, failure);
            }
            exit();
        }
    }

    /**
     * Finds the {@code k} best candidates under {@code mode}, best first; ties go to the lower candidate position. A
     * request with fewer than {@code k} scorable candidates returns them all. Selection keeps a heap of k entries,
     * O(M log k), and allocates nothing once the scratch and {@code result} have grown to the request's size.
     *
     * @param mode       the model to score with
     * @param userId     the user's external id
     * @param history    the user's behaviours as external item ids, oldest first; may be empty
     * @param candidates the candidates' external item ids
     * @param k          how many to return, at least 0
     * @param result     the holder to refill; its previous contents are replaced
     * @return {@code result}
     * @throws IllegalArgumentException  {@code k} is negative
     * @throws RequestLimitException     {@code k}, {@code candidates} or {@code history} is over this scorer's limits
     * @throws UnknownCandidateException a candidate id is not in the catalog and unknown candidates are not skipped
     * @throws IllegalStateException     another thread is inside this scorer, or the model is closed
     * @throws NullPointerException      an argument is null
     */
    public TopK topK(Mode mode, long userId, long[] history, long[] candidates, int k, TopK result) {
        return topK(mode, userId, history, 0, history.length, candidates, 0, candidates.length, k, result);
    }

    /**
     * As {@link #topK(Mode, long, long[], long[], int, TopK)} on slices of the caller's arrays (see
     * {@link #score(Mode, long, long[], int, int, long[], int, int, float[], int)}); the result's positions are
     * positions in the candidate slice. Allocates nothing once the scratch and {@code result} have grown.
     *
     * @param mode            the model to rank with
     * @param userId          the user's external id
     * @param history         an array holding the user's behaviours as external item ids, oldest first
     * @param historyOffset   index of the oldest behaviour in {@code history}
     * @param historyLength   behaviours in the slice; may be 0
     * @param candidates      an array holding the candidates' external item ids
     * @param candidateOffset index of the first candidate in {@code candidates}
     * @param candidateCount  candidates in the slice
     * @param k               how many to return; fewer when fewer candidates are scorable
     * @param result          the holder to fill (reused, grown when k exceeds its capacity)
     * @return {@code result}
     * @throws IndexOutOfBoundsException a history or candidate slice does not fit its array
     * @throws RequestLimitException     the slices or {@code k} are over this scorer's limits
     * @throws UnknownCandidateException a candidate id is not in the catalog and unknown candidates are not skipped
     * @throws IllegalStateException     another thread is inside this scorer, or the model is closed
     * @throws NullPointerException      an argument is null
     */
    public TopK topK(Mode mode, long userId, long[] history, int historyOffset, int historyLength,
                     long[] candidates, int candidateOffset, int candidateCount, int k, TopK result) {
        long start = enter();
        RequestEvent event = RequestEvent.beginIfEnabled();
        RuntimeException failure = null;
        try {
            limits.checkK("k", k);
            checkSizes(historyLength, candidateCount);
            float[] all = allScores(candidateCount);
            scoreIds(mode, userId, history, historyOffset, historyLength, candidates, candidateOffset, candidateCount,
                    all, 0);
            selector.select(all, candidateCount, k, rowsByPosition(candidateCount), candidates, candidateOffset, result);
            metrics.completed(mode, System.nanoTime() - start);
            return result;
        } catch (RuntimeException e) {
            metrics.failed(failure = e);
            throw e;
        } finally {
            if (event != null) {
                event.finish("topK", mode, candidateCount, historyLength, k, failure);
            }
            exit();
        }
    }

    /**
     * Runs the cascade: TARQ (uint8 tables) picks the best {@code kPrime} of the candidates, exact TA re-scores only
     * those, and the best {@code k} by TA come back (with TA logits), best first; ties go to the lower candidate
     * position. Allocates nothing once the scratch and {@code result} have grown to the request's size.
     *
     * @param userId     the user's external id
     * @param history    the user's behaviours as external item ids, oldest first; may be empty
     * @param candidates the candidates' external item ids
     * @param kPrime     how many candidates TARQ passes to TA, at least {@code k}
     * @param k          how many to return, at least 0
     * @param result     the holder to refill; its previous contents are replaced
     * @return {@code result}
     * @throws IllegalArgumentException  {@code k} or {@code kPrime} is negative, or {@code kPrime < k}
     * @throws RequestLimitException     {@code k}, {@code kPrime}, {@code candidates} or {@code history} is over this
     *                                   scorer's limits
     * @throws UnknownCandidateException a candidate id is not in the catalog and unknown candidates are not skipped
     * @throws IllegalStateException     another thread is inside this scorer, or the model is closed
     * @throws NullPointerException      an argument is null
     */
    public TopK rescoreTopK(long userId, long[] history, long[] candidates, int kPrime, int k, TopK result) {
        return rescoreTopK(userId, history, 0, history.length, candidates, 0, candidates.length, kPrime, k, result);
    }

    /**
     * As {@link #rescoreTopK(long, long[], long[], int, int, TopK)} on slices of the caller's arrays (see
     * {@link #score(Mode, long, long[], int, int, long[], int, int, float[], int)}); the result's positions are
     * positions in the candidate slice. Allocates nothing once the scratch and {@code result} have grown.
     *
     * @param userId          the user's external id
     * @param history         an array holding the user's behaviours as external item ids, oldest first
     * @param historyOffset   index of the oldest behaviour in {@code history}
     * @param historyLength   behaviours in the slice; may be 0
     * @param candidates      an array holding the candidates' external item ids
     * @param candidateOffset index of the first candidate in {@code candidates}
     * @param candidateCount  candidates in the slice
     * @param kPrime          how many TARQ keeps for exact TA to re-score; at least {@code k}
     * @param k               how many to return, by TA
     * @param result          the holder to fill (reused, grown when k exceeds its capacity)
     * @return {@code result}, with TA logits
     * @throws IndexOutOfBoundsException a history or candidate slice does not fit its array
     * @throws IllegalArgumentException  {@code kPrime} is smaller than {@code k}
     * @throws RequestLimitException     the slices, {@code k} or {@code kPrime} are over this scorer's limits
     * @throws UnknownCandidateException a candidate id is not in the catalog and unknown candidates are not skipped
     * @throws IllegalStateException     another thread is inside this scorer, or the model is closed
     * @throws NullPointerException      an argument is null
     */
    public TopK rescoreTopK(long userId, long[] history, int historyOffset, int historyLength, long[] candidates,
                            int candidateOffset, int candidateCount, int kPrime, int k, TopK result) {
        long start = enter();
        RequestEvent event = RequestEvent.beginIfEnabled();
        RuntimeException failure = null;
        try {
            cascade(userId, history, historyOffset, historyLength, candidates, candidateOffset, candidateCount, kPrime, k,
                    result);
            metrics.cascadeCompleted(System.nanoTime() - start);
            return result;
        } catch (RuntimeException e) {
            metrics.failed(failure = e);
            throw e;
        } finally {
            if (event != null) {
                event.finish("rescoreTopK", Mode.TARQ, candidateCount, historyLength, k, failure);
            }
            exit();
        }
    }

    private TopK cascade(long userId, long[] history, int historyOffset, int historyLength, long[] candidates,
                         int candidateOffset, int candidateCount, int kPrime, int k, TopK result) {
        limits.checkK("k", k);
        limits.checkK("kPrime", kPrime);
        if (kPrime < k) {
            throw new IllegalArgumentException("kPrime = " + kPrime + " is smaller than k = " + k);
        }
        checkSizes(historyLength, candidateCount);
        float[] all = allScores(candidateCount);
        scoreIds(Mode.TARQ, userId, history, historyOffset, historyLength, candidates, candidateOffset, candidateCount,
                all, 0);
        int[] byPosition = rowsByPosition(candidateCount);
        selector.select(all, candidateCount, kPrime, byPosition, candidates, candidateOffset, stage);

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
        exactTwoTower(survivors, stageScores);
        teacher.addTo(user, rows, survivors, stageScores);
        selector.select(stageScores, survivors, k, stageRows, null, 0, result);
        for (int i = 0; i < result.size; i++) {
            int position = order[result.positions[i]];
            result.positions[i] = position;
            result.ids[i] = candidates[candidateOffset + position];
        }
        return result;
    }

    // ---------------------------------------------------------------- one thread at a time

    /** Takes the scorer for this thread; returns the time it did, for the request's metrics. */
    private long enter() {
        Thread current = Thread.currentThread();
        Thread inside = occupant.compareAndExchange(null, current);
        if (inside == null) {
            return System.nanoTime();
        }
        IllegalStateException misuse = new IllegalStateException("a Scorer serves one thread at a time: thread '"
                + current.getName() + "' entered it while thread '" + inside.getName() + "' was inside; take a scorer "
                + "per thread (TarqModel.newScorer) or share a TarqEngine");
        metrics.failed(misuse);
        throw misuse;
    }

    private void exit() {
        occupant.set(null);
    }

    // ---------------------------------------------------------------- request semantics

    private void scoreIds(Mode mode, long userId, long[] history, int historyOffset, int historyLength,
                          long[] candidates, int candidateOffset, int candidateCount, float[] out, int outOffset) {
        int count = resolve(userId, history, historyOffset, historyLength, candidates, candidateOffset, candidateCount,
                out, outOffset);
        scoreResolved(mode, count, candidateCount, out, outOffset);
    }

    /**
     * Resolves ids into rows, runs the user side, and returns how many candidates are scored (all of them, or those
     * known when unknown ones are skipped; their out entries are already NaN).
     */
    private int resolve(long userId, long[] history, int historyOffset, int historyLength, long[] candidates,
                        int candidateOffset, int candidateCount, float[] out, int outOffset) {
        model.checkOpen();
        java.util.Objects.checkFromIndexSize(historyOffset, historyLength, history.length);
        java.util.Objects.checkFromIndexSize(candidateOffset, candidateCount, candidates.length);
        checkSizes(historyLength, candidateCount);
        checkOut(outOffset, candidateCount, out);
        ensureCandidates(candidateCount);
        // The id lookup brings each candidate's codes when the index holds them (the code fetch is then free).
        codesResolved = codesInIndex;
        int missing = codesInIndex
                ? items.rows(candidates, candidateOffset, candidateCount, rows, packedCodes)
                : items.rows(candidates, candidateOffset, candidateCount, rows);
        int count = candidateCount;
        if (missing > 0) {
            count = compactKnown(candidates, candidateOffset, candidateCount, out, outOffset);
        }
        // Behaviours: drop unknown ones, keep the newest n_max of the rest.
        int n = 0;
        for (int i = historyOffset + historyLength - 1; i >= historyOffset && n < historyRows.length; i--) {
            int row = items.row(history[i]);
            if (row != IdIndex.MISSING) {
                historyRows[n++] = row;
            }
        }
        reverse(historyRows, n);
        int userRow = users.row(userId);
        user.compute(userRow == IdIndex.MISSING ? 0 : userRow, historyRows, n);
        return count;
    }

    private int resolveRows(int userRow, int[] history, int[] candidates, float[] out) {
        model.checkOpen();
        checkSizes(history.length, candidates.length);
        checkOut(0, candidates.length, out);
        checkRow("user row", userRow, dims.users());
        ensureCandidates(candidates.length);
        codesResolved = false;
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
        user.compute(userRow, historyRows, n);
        return candidates.length;
    }

    /** Unknown candidates: NaN in out, the known ones moved to the front of rows with their positions recorded. */
    private int compactKnown(long[] candidates, int candidateOffset, int candidateCount, float[] out, int outOffset) {
        int count = 0;
        for (int i = 0; i < candidateCount; i++) {
            if (rows[i] == IdIndex.MISSING) {
                if (!skipUnknown) {
                    throw new UnknownCandidateException(candidates[candidateOffset + i], i);
                }
                out[outOffset + i] = Float.NaN;
            } else {
                positions[count] = i;
                packedCodes[count] = packedCodes[i];
                rows[count++] = rows[i];
            }
        }
        return count;
    }

    private void scoreResolved(Mode mode, int count, int total, float[] out, int outOffset) {
        scoredCount = count;
        boolean compacted = count < total;
        // The kernels write from index 0: a compacted request or an offset output goes through scratch.
        boolean direct = !compacted && outOffset == 0;
        float[] target = direct ? out : compactScratch(count);
        if (records != null && (mode == Mode.TARQ || mode == Mode.TARQ_F32)) {
            scoreTarqFromRecords(mode, count, target);
        } else {
            if (mode == Mode.TA) {
                exactTwoTower(count, target);
            } else {
                scanTwoTower(count, target);
            }
            switch (mode) {
                case TT -> { }
                case TARQ_F32 -> {
                    tables.build(user);
                    int stride = candidateCodes(count);
                    kernels.lutScanF32(codes.block, stride, count, levels, codebookSize, tables.lut, target);
                    addCrossTerms(stride, count, target);
                }
                case TARQ -> {
                    tables.build(user);
                    tables.quantize();
                    int stride = candidateCodes(count);
                    addTableLookupsU8(stride, count, target);
                    addCrossTerms(stride, count, target);
                }
                case TA -> teacher.addTo(user, rows, count, target);
            }
        }
        if (compacted) {
            for (int i = 0; i < count; i++) {
                out[outOffset + positions[i]] = target[i];
            }
        } else if (!direct) {
            System.arraycopy(target, 0, out, outOffset, count);
        }
    }

    /** out[i] += the uint8 tables' sum for the candidates whose codes are in {@code codes.block}. */
    private void addTableLookupsU8(int stride, int count, float[] out) {
        kernels.lutScanU8(codes.block, stride, count, levels, tables.lutU8, codes.sums);
        float bias = tables.bias(), inverseScale = tables.inverseScale();
        for (int i = 0; i < count; i++) {
            out[i] += bias + Short.toUnsignedInt(codes.sums[i]) * inverseScale;
        }
    }

    /**
     * TARQ with {@link ItemVectors#RECORDS}: the tables first, then one pass over the records gives s_TT and the
     * cross terms, then the table lookups; the sums are added in the order of the two-table path (s_TT, tables,
     * cross), so the logits are the same bits.
     */
    private void scoreTarqFromRecords(Mode mode, int count, float[] out) {
        tables.build(user);
        if (mode == Mode.TARQ) {
            tables.quantize();
        }
        int stride = candidateCodes(count);
        float[] cross = crossTerms(count);
        kernels.dotRowsCross(records.records(), dims.dv(), dims.crossDim(), rows, count, user.uHat(), w.tau, w.beta,
                codes.block, stride, levels, codebookSize, tables.x, out, cross);
        if (mode == Mode.TARQ) {
            addTableLookupsU8(stride, count, out);
        } else {
            kernels.lutScanF32(codes.block, stride, count, levels, codebookSize, tables.lut, out);
        }
        for (int i = 0; i < count; i++) {
            out[i] += cross[i];
        }
    }

    private float[] crossTerms(int count) {
        if (crossTerms.length < count) {
            crossTerms = new float[Math.max(count, crossTerms.length * 2)];
        }
        return crossTerms;
    }

    /**
     * With the cross head, {@code out[i] += ⟨Σ_l X[l, z_l], q_i⟩} for the candidates whose codes are in
     * {@code codes.block}: the float table x (both TARQ modes; only lut[L][K] has a uint8 form).
     */
    private void addCrossTerms(int stride, int count, float[] out) {
        if (itemCross == null) {
            return;
        }
        float[] terms = crossTerms(count);
        kernels.crossScan(codes.block, stride, count, levels, codebookSize, tables.x, dims.crossDim(), itemCross, rows,
                terms);
        for (int i = 0; i < count; i++) {
            out[i] += terms[i];
        }
    }

    /** The codes of the scored candidates into {@code codes.block}, level-major; returns the stride. */
    private int candidateCodes(int count) {
        return codesResolved ? codes.unpack(packedCodes, count) : codes.gather(rows, count);
    }

    /**
     * out[i] = s_TT = τ·⟨û, î⟩ + β for candidates rows[0..count), the first term of TT and TARQ: from the rows the
     * model chose to scan ({@link ItemVectors}).
     */
    private void scanTwoTower(int count, float[] out) {
        if (quantizedVectors == null) {
            exactTwoTower(count, out);
        } else {
            float shift = quantizedVectors.prepare(user.uHat(), w.tau, w.beta, uScaled);
            kernels.dotRowsSq8(quantizedVectors.rows(), quantizedVectors.stride(), rows, count, uScaled, w.tau, shift, out);
        }
    }

    /** s_TT from the float rows of {@code item.vec}: exact TA's first term whatever the scans read. */
    private void exactTwoTower(int count, float[] out) {
        kernels.dotRows(itemVec, dims.dv(), rows, count, user.uHat(), w.tau, w.beta, out);
    }

    // ---------------------------------------------------------------- scratch

    private void ensureCandidates(int count) {
        if (rows.length < count) {
            int capacity = Math.max(count, rows.length * 2);
            rows = new int[capacity];
            positions = new int[capacity];
            packedCodes = new int[capacity];
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

    /** The request limits, checked before any buffer grows or any id is looked up. */
    private void checkSizes(int historyLength, int candidateCount) {
        limits.checkCandidates(candidateCount);
        limits.checkHistory(historyLength);
    }

    private static void checkOut(int offset, int count, float[] out) {
        if (offset < 0 || out.length - offset < count) {
            throw new IllegalArgumentException("out holds " + out.length + " scores" + (offset == 0 ? "" : " (from offset " + offset + ")")
                    + ", the request has " + count + " candidates");
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
