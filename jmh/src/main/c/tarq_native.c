/*
 * tarq_native.c: the candidate scans and the LUT build's attention in C, the "native limit" the Java kernels are
 * measured against (ScanBenchmark, LutBuildBenchmark; issue 6). Called through FFM downcalls by
 * io.tarq.jmh.NativeKernels on the very arrays the Java kernels read (heap arrays passed as critical downcalls: no
 * copy). Never linked by the engine.
 *
 * Built by the jmh module's Maven build (src/main/c/build.sh):
 *   gcc -O3 -march=native -ffp-contract=off -shared -fPIC
 * -ffp-contract=off because GCC's GNU C default (=fast) may fuse a multiply and an add into one FMA, also across
 * intrinsics (GCC writes _mm512_mul_ps as a plain vector '*'); the Java kernels round every operation on its own
 * unless they call fma, and the equality tests need the same roundings.
 *
 * Every function computes what its Java twin computes (io.tarq.engine.kernel.ScalarKernels is the specification):
 *   tarq_lut_scan_u8   = KernelSupport.lutScanU8   exact (integer sums)
 *   tarq_lut_scan_f32  = KernelSupport.lutScanF32  bit for bit (the same additions in the same order)
 *   tarq_attend_rows   = KernelSupport.attendRows  the same operations, lane for lane, as PanamaKernels on 512-bit
 *                                                  vectors (so bit for bit there), within float rounding of Scalar
 * Integers are int32_t (Java int), arrays are little-endian, row-major and flat.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

/* Which paths this build compiled: what -march=native found on the build machine. */
#define TARQ_NATIVE_U8_VBMI 1     /* uint8 scan with tables in registers (AVX-512 VBMI vpermi2b) */
#define TARQ_NATIVE_F32_GATHER 2  /* float scan with AVX-512 gathers */
#define TARQ_NATIVE_ATTEND 4      /* tarq_attend_rows (AVX-512F); without it the function returns -1 */

int32_t tarq_native_features(void) {
    int32_t features = 0;
#if defined(__AVX512VBMI__) && defined(__AVX512BW__)
    features |= TARQ_NATIVE_U8_VBMI;
#endif
#if defined(__AVX512F__)
    features |= TARQ_NATIVE_F32_GATHER | TARQ_NATIVE_ATTEND;
#endif
    return features;
}

/* ---------------------------------------------------------------------------------------------------------------
 * The uint8-table scan.
 *
 *   codes [L][stride]   uint8, level-major: code of candidate i at level l at codes[l·stride + i]; stride a
 *                       multiple of 64, the padding readable (the scorer's CandidateCodes block: it gathers it from
 *                       the model's candidate-major copy codesByItem[N][L], which is CodeFetchBenchmark's part)
 *   lut   [L][256]      uint8, FAISS-style quantized table (LookupTables.quantize)
 *   sums  [stride]      uint16: sums[i] = Σ_l lut[l·256 + codes[l·stride + i]], exact (L·255 ≤ 65535 for L ≤ 8);
 *                       entries count..stride-1 are written with unspecified values, as the Java kernels do
 */
#if defined(__AVX512VBMI__) && defined(__AVX512BW__)
/*
 * 64 candidates a step, candidates in byte lanes. A level's 256-entry table is four 64-byte registers (t0..t3);
 * vpermi2b looks 64 codes up in the 128 bytes of t0‖t1 using the code's low 7 bits, again in t2‖t3, and the code's
 * top bit (movepi8_mask) picks which. Levels is a compile-time constant in each instance (see the switch below), so
 * the loop over levels unrolls and the L·4 table registers stay loaded across all blocks (12 of 32 at L = 3).
 *
 * Widening without cross-lane shuffles: the 64 looked-up bytes read as 32 uint16 words hold candidate 2w in the low
 * byte of word w and candidate 2w+1 in the high byte, so "and 0x00FF" and "shift right 8" give two vectors of uint16
 * (even and odd candidates) that add with vpaddw; two vpermt2w at the end of the step interleave them back into
 * candidate order. (The Java kernel zero-extends each 32-byte half instead: three shuffles a level, not two
 * bit operations.)
 */
static inline __attribute__((always_inline)) void scan_u8_vbmi(const uint8_t *codes, int32_t stride, int32_t count,
                                                                const int levels, const uint8_t *lut, uint16_t *sums) {
    __m512i table[8][4];
    for (int l = 0; l < levels; l++) {
        for (int q = 0; q < 4; q++) {
            table[l][q] = _mm512_loadu_si512((const void *) (lut + l * 256 + q * 64));
        }
    }
    /* Word w of the first output is candidate w: even[w/2] when w is even, odd[w/2] (index 32 + w/2) when odd. */
    const __m512i interleave_low = _mm512_set_epi16(
            47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8,
            39, 7, 38, 6, 37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
    const __m512i interleave_high = _mm512_set_epi16(
            63, 31, 62, 30, 61, 29, 60, 28, 59, 27, 58, 26, 57, 25, 56, 24,
            55, 23, 54, 22, 53, 21, 52, 20, 51, 19, 50, 18, 49, 17, 48, 16);
    const __m512i low_bytes = _mm512_set1_epi16(0x00FF);
    for (int32_t i = 0; i < count; i += 64) {
        __m512i even = _mm512_setzero_si512();
        __m512i odd = _mm512_setzero_si512();
        for (int l = 0; l < levels; l++) {
            __m512i code = _mm512_loadu_si512((const void *) (codes + (size_t) l * stride + i));
            __m512i first = _mm512_permutex2var_epi8(table[l][0], code, table[l][1]);   /* codes 0..127 */
            __m512i second = _mm512_permutex2var_epi8(table[l][2], code, table[l][3]);  /* codes 128..255 */
            __m512i entry = _mm512_mask_blend_epi8(_mm512_movepi8_mask(code), first, second);
            even = _mm512_add_epi16(even, _mm512_and_si512(entry, low_bytes));
            odd = _mm512_add_epi16(odd, _mm512_srli_epi16(entry, 8));
        }
        _mm512_storeu_si512((void *) (sums + i), _mm512_permutex2var_epi16(even, interleave_low, odd));
        _mm512_storeu_si512((void *) (sums + i + 32), _mm512_permutex2var_epi16(even, interleave_high, odd));
    }
}
#endif

/* The specification's loop (ScalarKernels.lutScanU8), for builds without VBMI and levels outside 1..8. */
static void scan_u8_scalar(const uint8_t *codes, int32_t stride, int32_t count, int32_t levels, const uint8_t *lut,
                           uint16_t *sums) {
    for (int32_t i = 0; i < count; i++) {
        sums[i] = 0;
    }
    for (int32_t l = 0; l < levels; l++) {
        const uint8_t *table = lut + l * 256;
        const uint8_t *row = codes + (size_t) l * stride;
        for (int32_t i = 0; i < count; i++) {
            sums[i] = (uint16_t) (sums[i] + table[row[i]]);
        }
    }
}

void tarq_lut_scan_u8(const uint8_t *codes, int32_t stride, int32_t count, int32_t levels, const uint8_t *lut,
                      uint16_t *sums) {
#if defined(__AVX512VBMI__) && defined(__AVX512BW__)
    switch (levels) { /* one instance a level count: the table registers are loaded once a call */
        case 1: scan_u8_vbmi(codes, stride, count, 1, lut, sums); return;
        case 2: scan_u8_vbmi(codes, stride, count, 2, lut, sums); return;
        case 3: scan_u8_vbmi(codes, stride, count, 3, lut, sums); return;
        case 4: scan_u8_vbmi(codes, stride, count, 4, lut, sums); return;
        case 5: scan_u8_vbmi(codes, stride, count, 5, lut, sums); return;
        case 6: scan_u8_vbmi(codes, stride, count, 6, lut, sums); return;
        case 7: scan_u8_vbmi(codes, stride, count, 7, lut, sums); return;
        case 8: scan_u8_vbmi(codes, stride, count, 8, lut, sums); return;
        default: break;
    }
#endif
    scan_u8_scalar(codes, stride, count, levels, lut, sums);
}

/* ---------------------------------------------------------------------------------------------------------------
 * The float-table scan.
 *
 *   codes [L][stride]   as above, every code < K
 *   lut   [L][K]        float
 *   out   [count]       out[i] += Σ_l lut[l·K + codes[l·stride + i]], adding level 0 first, then 1, ...: the
 *                       Java loop's order (level-outer, out[i] += one entry a level), so the results are the same
 *                       bits
 */
void tarq_lut_scan_f32(const uint8_t *codes, int32_t stride, int32_t count, int32_t levels, int32_t codebook_size,
                       const float *lut, float *out) {
    int32_t i = 0;
#if defined(__AVX512F__)
    /* 16 candidates a step: their L entries gathered level by level and added in level order. */
    for (; i + 16 <= count; i += 16) {
        __m512 acc = _mm512_loadu_ps(out + i);
        for (int32_t l = 0; l < levels; l++) {
            __m512i index = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (codes + (size_t) l * stride + i)));
            acc = _mm512_add_ps(acc, _mm512_i32gather_ps(index, lut + (size_t) l * codebook_size, 4));
        }
        _mm512_storeu_ps(out + i, acc);
    }
#endif
    for (; i < count; i++) { /* scalar tail */
        float acc = out[i];
        for (int32_t l = 0; l < levels; l++) {
            acc += lut[(size_t) l * codebook_size + codes[(size_t) l * stride + i]];
        }
        out[i] = acc;
    }
}

/* ---------------------------------------------------------------------------------------------------------------
 * The LUT build's attention: attention readouts of `count` query rows through the serving identity
 * (KernelSupport.attendRows, AttentionKeys):
 *
 *   out[i] = Σ_j softmax_2(q_i,j · K_jᵀ [, q_i,j · null_k[j]]) · [u_j, 0]      softmax in base 2: 2^(s − max)
 *
 *   queries_t [ceil(count/64)][d][64]  QueryBlocks: component c of query i at queries_t[((i/64)·d + c)·64 + i%64],
 *                                      scaled by log2(e)/sqrt(dh); the last block padded (with zeros)
 *   keys      [n][d]                   component t of key m of head j at keys[m·d + j·dh + t]
 *   u         [h][u_stride]            u_j[m] at u[j·u_stride + m]
 *   null_k    [h][dh] or NULL
 *   bounds    [h]                      AttentionKeys.unshiftedNormSq: groups whose queries' ‖q_j‖² are all within it
 *                                      skip the max (their scores lie within ±64)
 *   scores    [n][4][16]               scratch: NATIVE_SCORES_PER_KEY = 64 floats a key
 *   out       [count]                  nothing past count is written
 *
 * Lanes run over 16 queries (a "group", a quarter of a 64-query block), as in PanamaKernels.attendRows, and every
 * lane computes with the same operations in the same order as the Java kernel on 512-bit vectors: each score a chain
 * of dh FMAs from zero, the max (where the bound requires it), exp2 as DeterministicMath, the sum and the u-weighted
 * sum accumulated key by key, one division a head, heads added in order; so the results are the same bits. The
 * schedule is the Java kernel's too: the four groups of a block times four keys a step, 16 independent FMA chains on
 * 4 query loads and 4 broadcasts.
 * -1 when this build has no AVX-512F.
 */
#define GROUP 16        /* queries a group: the lanes of a 512-bit float vector */
#define BLOCK 64        /* queries a block of the layout */
#define TILE_BLOCKS 4   /* groups scored together: a block */

#if defined(__AVX512F__)
/* Cephes exp2f as DeterministicMath.exp2InRange, operation for operation: 2^x = 2^k·2^f with k = round(x) by adding
 * 1.5·2^23 + 127 (ties to odd), f = x − k exact, 2^f by a degree-6 polynomial in Horner form with FMAs, 2^k's exponent
 * field the low bits of x + 1.5·2^23 + 127 shifted left by 23. For x in [−126, 126]. */
static inline __attribute__((always_inline)) __m512 exp2_in_range(__m512 x) {
    const __m512 rounding = _mm512_set1_ps(12582912.0f + 127.0f);
    __m512 shifted = _mm512_add_ps(x, rounding);
    __m512 k = _mm512_sub_ps(shifted, rounding);
    __m512 f = _mm512_sub_ps(x, k);
    __m512 p = _mm512_set1_ps(1.535336188319500e-4f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.339887440266574e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618437357674640e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550332471162809e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402264791363012e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931472028550421e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    __m512i exponent = _mm512_slli_epi32(_mm512_castps_si512(shifted), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(exponent));
}

/* DeterministicMath.exp2: for x ≤ 0; below −126 it gives 2^−126. */
static inline __attribute__((always_inline)) __m512 exp2_deterministic(__m512 x) {
    return exp2_in_range(_mm512_max_ps(x, _mm512_set1_ps(-126.0f)));
}

/*
 * Head `head_index` of `blocks` (1..4, a constant in each instance) groups of the query block at `q` (component t
 * of group b's queries at q[t·64 + b·16]): adds each group's readout for this head to readout[b].
 */
static inline __attribute__((always_inline)) void attend_head(
        const float *q, const int blocks, int32_t d, int32_t dh, int32_t head_index, int32_t n,
        const float *keys, const float *u, const float *null_k, float bound, float *scores, __m512 *readout) {
    const int32_t head = head_index * dh;
    const float *qh = q + (size_t) head * BLOCK;
    __m512 max[TILE_BLOCKS];
    for (int b = 0; b < blocks; b++) {
        max[b] = _mm512_set1_ps(-__builtin_inff());
    }
    int32_t m = 0;
    /* Pass 1: scores, four keys a step. */
    for (; m + 4 <= n; m += 4) {
        __m512 s[TILE_BLOCKS][4];
        for (int b = 0; b < blocks; b++) {
            for (int k = 0; k < 4; k++) {
                s[b][k] = _mm512_setzero_ps();
            }
        }
        const float *key = keys + (size_t) m * d + head;
        for (int32_t t = 0; t < dh; t++) {
            __m512 k0 = _mm512_set1_ps(key[t]), k1 = _mm512_set1_ps(key[d + t]);
            __m512 k2 = _mm512_set1_ps(key[2 * d + t]), k3 = _mm512_set1_ps(key[3 * d + t]);
            for (int b = 0; b < blocks; b++) {
                __m512 qt = _mm512_loadu_ps(qh + (size_t) t * BLOCK + b * GROUP);
                s[b][0] = _mm512_fmadd_ps(qt, k0, s[b][0]);
                s[b][1] = _mm512_fmadd_ps(qt, k1, s[b][1]);
                s[b][2] = _mm512_fmadd_ps(qt, k2, s[b][2]);
                s[b][3] = _mm512_fmadd_ps(qt, k3, s[b][3]);
            }
        }
        for (int b = 0; b < blocks; b++) {
            for (int k = 0; k < 4; k++) {
                _mm512_storeu_ps(scores + ((size_t) (m + k) * TILE_BLOCKS + b) * GROUP, s[b][k]);
                max[b] = _mm512_max_ps(max[b], s[b][k]);
            }
        }
    }
    for (; m < n; m++) { /* remaining keys, one at a time */
        __m512 s[TILE_BLOCKS];
        for (int b = 0; b < blocks; b++) {
            s[b] = _mm512_setzero_ps();
        }
        const float *key = keys + (size_t) m * d + head;
        for (int32_t t = 0; t < dh; t++) {
            __m512 kt = _mm512_set1_ps(key[t]);
            for (int b = 0; b < blocks; b++) {
                s[b] = _mm512_fmadd_ps(_mm512_loadu_ps(qh + (size_t) t * BLOCK + b * GROUP), kt, s[b]);
            }
        }
        for (int b = 0; b < blocks; b++) {
            _mm512_storeu_ps(scores + ((size_t) m * TILE_BLOCKS + b) * GROUP, s[b]);
            max[b] = _mm512_max_ps(max[b], s[b]);
        }
    }
    if (null_k == NULL && n == 0) {
        return; /* no keys and no null key: the head adds nothing */
    }
    /* A group whose queries all have ‖q_j‖² ≤ bound has every score within ±64 (AttentionKeys.unshiftedNormSq):
     * 2^s with no max and no clamp, as PanamaKernels.addHeadReadout. */
    __m512 sum[TILE_BLOCKS], weighted[TILE_BLOCKS];
    int in_range[TILE_BLOCKS];
    for (int b = 0; b < blocks; b++) {
        __m512 norm_sq = _mm512_setzero_ps(), null_score = _mm512_setzero_ps();
        for (int32_t t = 0; t < dh; t++) {
            __m512 qt = _mm512_loadu_ps(qh + (size_t) t * BLOCK + b * GROUP);
            norm_sq = _mm512_fmadd_ps(qt, qt, norm_sq);
            if (null_k != NULL) {
                null_score = _mm512_fmadd_ps(qt, _mm512_set1_ps(null_k[head + t]), null_score);
            }
        }
        in_range[b] = _mm512_cmp_ps_mask(norm_sq, _mm512_set1_ps(bound), _CMP_LE_OQ) == 0xFFFF;
        sum[b] = _mm512_setzero_ps();
        weighted[b] = _mm512_setzero_ps();
        if (null_k != NULL) {
            if (in_range[b]) {
                sum[b] = exp2_in_range(null_score);
            } else {
                max[b] = _mm512_max_ps(max[b], null_score);
                sum[b] = exp2_deterministic(_mm512_sub_ps(null_score, max[b]));
            }
        }
    }
    /* Pass 2: weights 2^s (or 2^(s − max)), their sum and the u-weighted sum; the blocks' chains are independent.
     * The common case, every group in range, has a loop of its own (a choice inside the loop: 84.9 against 81.8 µs). */
    int all_in_range = 1;
    for (int b = 0; b < blocks; b++) {
        all_in_range &= in_range[b];
    }
    const float *uh = u;
    if (all_in_range) {
        for (m = 0; m < n; m++) {
            __m512 um = _mm512_set1_ps(uh[m]);
            for (int b = 0; b < blocks; b++) {
                __m512 e = exp2_in_range(_mm512_loadu_ps(scores + ((size_t) m * TILE_BLOCKS + b) * GROUP));
                sum[b] = _mm512_add_ps(sum[b], e);
                weighted[b] = _mm512_fmadd_ps(e, um, weighted[b]);
            }
        }
    } else {
        for (m = 0; m < n; m++) {
            __m512 um = _mm512_set1_ps(uh[m]);
            for (int b = 0; b < blocks; b++) {
                __m512 s = _mm512_loadu_ps(scores + ((size_t) m * TILE_BLOCKS + b) * GROUP);
                __m512 e = in_range[b] ? exp2_in_range(s) : exp2_deterministic(_mm512_sub_ps(s, max[b]));
                sum[b] = _mm512_add_ps(sum[b], e);
                weighted[b] = _mm512_fmadd_ps(e, um, weighted[b]);
            }
        }
    }
    for (int b = 0; b < blocks; b++) {
        readout[b] = _mm512_add_ps(readout[b], _mm512_div_ps(weighted[b], sum[b]));
    }
}

static inline __attribute__((always_inline)) void attend_blocks(
        const float *queries_t, int32_t first_group, const int blocks, int32_t count, int32_t heads, int32_t dh,
        int32_t n, const float *keys, const float *u, int32_t u_stride, const float *null_k, const float *bounds,
        float *scores, float *out) {
    const int32_t d = heads * dh;
    const float *q = queries_t + (size_t) (first_group / TILE_BLOCKS) * d * BLOCK;
    __m512 readout[TILE_BLOCKS];
    for (int b = 0; b < blocks; b++) {
        readout[b] = _mm512_setzero_ps();
    }
    for (int32_t j = 0; j < heads; j++) {
        attend_head(q, blocks, d, dh, j, n, keys, u + (size_t) j * u_stride, null_k, bounds[j], scores, readout);
    }
    for (int b = 0; b < blocks; b++) {
        int32_t first = (first_group + b) * GROUP;
        if (first + GROUP <= count) {
            _mm512_storeu_ps(out + first, readout[b]);
        } else {
            _mm512_mask_storeu_ps(out + first, (__mmask16) ((1u << (count - first)) - 1), readout[b]);
        }
    }
}
#endif

int32_t tarq_attend_rows(const float *queries_t, int32_t count, int32_t heads, int32_t head_dim, int32_t n,
                         const float *keys, const float *u, int32_t u_stride, const float *null_k,
                         const float *bounds, float *scores, float *out) {
#if defined(__AVX512F__)
    int32_t blocks = (count + GROUP - 1) / GROUP; /* groups of 16 queries; a tile is the four of one block */
    int32_t b = 0;
    for (; b + TILE_BLOCKS <= blocks; b += TILE_BLOCKS) {
        attend_blocks(queries_t, b, TILE_BLOCKS, count, heads, head_dim, n, keys, u, u_stride, null_k, bounds, scores, out);
    }
    switch (blocks - b) { /* the last one to three groups, each count its own instance */
        case 3: attend_blocks(queries_t, b, 3, count, heads, head_dim, n, keys, u, u_stride, null_k, bounds, scores, out); break;
        case 2: attend_blocks(queries_t, b, 2, count, heads, head_dim, n, keys, u, u_stride, null_k, bounds, scores, out); break;
        case 1: attend_blocks(queries_t, b, 1, count, heads, head_dim, n, keys, u, u_stride, null_k, bounds, scores, out); break;
        default: break;
    }
    return 0;
#else
    (void) queries_t; (void) count; (void) heads; (void) head_dim; (void) n; (void) keys; (void) u; (void) u_stride;
    (void) null_k; (void) bounds; (void) scores; (void) out;
    return -1;
#endif
}
