package io.tarq.engine.kernel;

import java.lang.foreign.MemorySegment;

/**
 * The arithmetic of a request, behind one small interface: {@link ScalarKernels} is the readable specification,
 * {@code PanamaKernels} the Vector API implementation that must agree with it (exactly for integer kernels, within
 * float rounding for float ones). Kernels are stateless; every buffer belongs to the caller.
 *
 * <p>Queries arrive scaled by log₂(e)/√dh and every softmax is computed as {@code 2^(s − max)}: the same weights as
 * the contract's {@code e^(q·k/√dh − max)}, without the exponential's range reduction by ln 2.
 *
 * <p>Shapes follow the paper: {@code codes[L][stride]} is one request's candidate codes, level-major, {@code lut[L][K]}
 * its lookup table.
 */
public interface KernelSupport {

    /**
     * Returns the implementation's name, as {@code -Dio.tarq.kernels} spells it.
     *
     * @return {@code "scalar"} or {@code "panama"}
     */
    String name();

    /**
     * {@code y[r][o] = b[o] + Σ_t x[r][t]·wT[t][o]} for {@code r < rows}: a Linear layer over {@code rows} inputs with
     * the weight stored transposed, {@code wT [in][out]}. {@code x} rows start at {@code xOffset} with length
     * {@code in}; {@code y} rows at {@code yOffset} with length {@code out}; {@code bias} may be null.
     *
     * @param x       the inputs, {@code [rows][in]} from {@code xOffset}
     * @param xOffset index in {@code x} of the first input row
     * @param rows    input rows
     * @param in      the layer's input width
     * @param wT      the weight transposed, {@code [in][out]}
     * @param bias    {@code [out]}, or null for none
     * @param out     the layer's output width
     * @param y       receives the outputs, {@code [rows][out]} from {@code yOffset}
     * @param yOffset index in {@code y} of the first output row
     */
    void linear(float[] x, int xOffset, int rows, int in, float[] wT, float[] bias, int out, float[] y, int yOffset);

    /**
     * One row's LayerNorm output from its statistics: {@code out[o + c] = (float) (xs[o + c] + as[o + c] − mean) ·
     * inverse · weight[c] + bias[c]} for c < d, each product and sum rounded to float in that order (the residual sum
     * in float, the centring in double), so every implementation gives the same bits.
     *
     * @param xs      the block's input X, row at {@code offset}
     * @param as      the attention output A, row at {@code offset}
     * @param offset  the row's first index in xs, as and out
     * @param d       the row's width
     * @param mean    the row's mean of X + A
     * @param inverse 1/√(variance + eps), rounded to float
     * @param weight  LayerNorm's weight, d floats
     * @param bias    LayerNorm's bias, d floats
     * @param out     receives the row at {@code offset}
     */
    void layerNormRow(float[] xs, float[] as, int offset, int d, double mean, float inverse, float[] weight, float[] bias,
                      float[] out);

    /**
     * The two-tower scan: {@code out[i] = scale·⟨u, vec[rows[i]]⟩ + shift} for {@code i < count}, where
     * {@code vec} holds rows of {@code dim} little-endian floats (the mapped {@code item.vec}).
     *
     * @param vec   the rows, {@code [N][dim]} little-endian floats
     * @param dim   floats a row
     * @param rows  the rows to score, {@code rows[0..count)}
     * @param count how many rows
     * @param u     the user vector, {@code [dim]}
     * @param scale multiplies each dot product (τ)
     * @param shift added to each result (β)
     * @param out   receives {@code out[0..count)}
     */
    void dotRows(MemorySegment vec, int dim, int[] rows, int count, float[] u, float scale, float shift, float[] out);

    /**
     * The two-tower scan over 8-bit rows: {@code out[i] = scale·Σ_{k<stride} u[k]·codes[rows[i]·stride + k] + shift}
     * for {@code i < count}, the bytes signed. {@code stride} is a multiple of 16 and {@code u} holds at least
     * {@code stride} floats (the caller's zeros cover a row's padding).
     *
     * @param codes  the 8-bit rows, {@code [N][stride]} signed bytes
     * @param stride bytes a row, a multiple of 16
     * @param rows   the rows to score, {@code rows[0..count)}
     * @param count  how many rows
     * @param u      the user vector (the engine passes û ⊙ step), at least {@code stride} floats
     * @param scale  multiplies each sum (τ)
     * @param shift  added to each result
     * @param out    receives {@code out[0..count)}
     */
    void dotRowsSq8(MemorySegment codes, int stride, int[] rows, int count, float[] u, float scale, float shift, float[] out);

    /**
     * Floats of {@code scores} scratch that {@link #attendRows}, {@link #attendValues} and {@link #attendRowsCross}
     * need for {@code keys}: a score for each query of a block a key, then a block's softmax totals and, with the
     * cross head, its cross sums ({@code QUERY_BLOCK·dx}).
     *
     * @param keys the keys the scratch is for (their capacity and cross width)
     * @return the scratch's length in floats
     */
    static int scoresLength(AttentionKeys keys) {
        return SCORES_PER_KEY * keys.capacity() + QUERY_BLOCK * (keys.crossDim + 1);
    }

    /**
     * Queries per block of {@link #attendRows}'s query layout: four 16-lane vectors, the queries the Vector API
     * kernel scores at once (so that their components sit at fixed offsets from one index).
     */
    int QUERY_BLOCK = 64;

    /** Floats of {@code scores} scratch the attention kernels need a key: a score for each query of a block. */
    int SCORES_PER_KEY = QUERY_BLOCK;

    /**
     * Attention readouts of {@code count} query rows through the serving identity; {@code out[i]}
     * receives the readout without the ⟨bo, r⟩ constant. Queries come in blocks of {@link #QUERY_BLOCK}, transposed
     * so that vector lanes run over queries (see {@link QueryBlocks}): component c of query i at
     * {@code queriesT[((i / 64)·d + c)·64 + i % 64]}, the last block padded. {@code scores} is scratch of at least
     * {@link #scoresLength} floats.
     *
     * @param queriesT the queries in blocks, {@code [ceil(count/64)][d][64]}
     * @param count    query rows
     * @param keys     the request's keys and u_j
     * @param scores   scratch, at least {@link #scoresLength} floats
     * @param out      receives the readouts, {@code out[0..count)}
     */
    void attendRows(float[] queriesT, int count, AttentionKeys keys, float[] scores, float[] out);

    /**
     * {@link #attendRows}, and for each query its cross row (the cross head, docs/model.md):
     * {@code cross[i·dx + c] = Σ_j Σ_m softmax_j(q_j·K_jᵀ [, null])[m] · keys.crossU[(m·h + j)·dx + c]}, i.e.
     * {@code A·(MHA(q; H) − bo)}, with {@code dx = keys.crossDim ≥ 1}. The readouts are the same as
     * {@link #attendRows}'s within float rounding. {@code cross [count][dx]}, row-major.
     *
     * @param queriesT the queries in blocks, as for {@link #attendRows}
     * @param count    query rows
     * @param keys     the request's keys, u_j and cross rows ({@code keys.crossDim ≥ 1})
     * @param scores   scratch, at least {@link #scoresLength} floats
     * @param out      receives the readouts, {@code out[0..count)}
     * @param cross    receives the cross rows, {@code [count][dx]}
     */
    void attendRowsCross(float[] queriesT, int count, AttentionKeys keys, float[] scores, float[] out, float[] cross);

    /**
     * Full attention outputs (before the output projection) of {@code count} query rows, for the attentions whose
     * output is a vector rather than a readout (the sequence block, the user attention, the DIN teacher head):
     * {@code out[i][j-block] = Σ_m softmax_j(q_j·K_jᵀ [, null])[m] · values[m][j-block]}, zero for a head with no
     * keys and no null key. {@code values [n][d]} row-major; {@code out [count][d]}. {@code scores} as for {@link #attendRows}.
     *
     * @param queries the query rows, {@code [count][d]}, row-major (not blocked)
     * @param count   query rows
     * @param keys    the keys
     * @param values  the values, {@code [n][d]}
     * @param scores  scratch, at least {@link #scoresLength} floats
     * @param out     receives the outputs, {@code [count][d]}
     */
    void attendValues(float[] queries, int count, AttentionKeys keys, float[] values, float[] scores, float[] out);

    /**
     * The cross head's candidate term, TARQ's per-candidate gather-sum-dot:
     * {@code out[i] = ⟨Σ_l x[(l·K + codes[l·stride + i])·dx ..+dx], crossRows[rows[i]]⟩} for {@code i < count},
     * where {@code x [L·K][dx]} is the request's table {@code X[l][k] = A·Pz[l,k]} and {@code crossRows} the mapped
     * {@code item.cross [N][dx]} (little-endian floats).
     *
     * @param codes        the candidates' codes, {@code codes[L][stride]}, level-major
     * @param stride       codes a level in {@code codes}
     * @param count        candidates
     * @param levels       L
     * @param codebookSize K
     * @param x            the request's table, {@code [L·K][dx]}
     * @param dx           the cross head's width
     * @param crossRows    the mapped {@code item.cross}, {@code [N][dx]}
     * @param rows         the candidates' rows in {@code crossRows}, {@code rows[0..count)}
     * @param out          receives {@code out[0..count)}
     */
    void crossScan(byte[] codes, int stride, int count, int levels, int codebookSize, float[] x, int dx,
                   MemorySegment crossRows, int[] rows, float[] out);

    /**
     * {@link #dotRows} and {@link #crossScan} in one pass over item records, each the float row of {@code item.vec}
     * followed by the row of {@code item.cross} ({@code records [N][dv + dx]}): a candidate's two rows are adjacent
     * lines, fetched together. Gives the same bits as the two kernels over separate tables.
     *
     * @param records      {@code [N][dv + dx]} little-endian floats
     * @param dv           the two-tower width
     * @param dx           the cross head's width
     * @param rows         the candidates' rows, {@code rows[0..count)}
     * @param count        candidates
     * @param u            the user vector û, {@code [dv]}
     * @param scale        τ
     * @param shift        β
     * @param codes        the candidates' codes, {@code codes[L][stride]}, level-major
     * @param stride       codes a level in {@code codes}
     * @param levels       L
     * @param codebookSize K
     * @param x            the request's table, {@code [L·K][dx]}
     * @param out          receives {@code out[i] = scale·⟨u, row_i⟩ + shift}
     * @param cross        receives {@code cross[i] = ⟨Σ_l x[l, z_l], crossRow_i⟩}
     */
    void dotRowsCross(MemorySegment records, int dv, int dx, int[] rows, int count, float[] u, float scale, float shift,
                      byte[] codes, int stride, int levels, int codebookSize, float[] x, float[] out, float[] cross);

    /**
     * The float-table scan: {@code out[i] += Σ_l lut[l·K + codes[l·stride + i]]} for {@code i < count}.
     *
     * @param codes        the candidates' codes, {@code codes[L][stride]}, level-major
     * @param stride       codes a level in {@code codes}
     * @param count        candidates
     * @param levels       L
     * @param codebookSize K
     * @param lut          the request's table, {@code lut[L][K]}
     * @param out          accumulates {@code out[0..count)}
     */
    void lutScanF32(byte[] codes, int stride, int count, int levels, int codebookSize, float[] lut, float[] out);

    /**
     * The uint8-table scan: {@code sums[i] = Σ_l lutU8[l·256 + codes[l·stride + i]]} for {@code i < count}, summed
     * exactly as unsigned 16-bit integers ({@code L·255 ≤ 65535}). {@code codes} and {@code sums} are padded to a
     * multiple of 64 entries a level; the padding's sums are unspecified.
     *
     * @param codes  the candidates' codes, {@code codes[L][stride]}, level-major
     * @param stride codes a level in {@code codes}, a multiple of 64
     * @param count  candidates
     * @param levels L
     * @param lutU8  the request's quantized table, {@code [L][256]}
     * @param sums   receives the unsigned sums, {@code sums[0..count)}
     */
    void lutScanU8(byte[] codes, int stride, int count, int levels, byte[] lutU8, short[] sums);
}
