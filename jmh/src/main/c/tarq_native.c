/*
 * tarq_native.c: the candidate scans and the LUT build's attention in C, the "native limit" the Java kernels are
 * measured against (ScanBenchmark, LutBuildBenchmark). Called through FFM downcalls by
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
 *   tarq_attend_rows   = KernelSupport.attendRows  the same operations, lane for lane, as PanamaKernels on vectors of
 *                                                  the same width (512 or 256 bits: bit for bit there), within float
 *                                                  rounding of Scalar
 * Integers are int32_t (Java int), arrays are little-endian, row-major and flat.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

/* The instruction sets each kernel's paths need; -march=native decides which the build machine gets. */
#if defined(__AVX512VBMI__) && defined(__AVX512BW__)
#define SCAN_U8_VBMI 1            /* tables in registers, vpermi2b */
#elif defined(__AVX2__)
#define SCAN_U8_AVX2 1            /* 16-entry sub-tables, vpshufb */
#endif
#if defined(__AVX512F__)
#define ATTEND_512 1              /* 16 queries a vector */
#elif defined(__AVX2__) && defined(__FMA__)
#define ATTEND_256 1              /* 8 queries a vector */
#endif

/* Which paths this build compiled: what -march=native found on the build machine. */
#define TARQ_NATIVE_U8_VBMI 1     /* uint8 scan with tables in registers (AVX-512 VBMI vpermi2b) */
#define TARQ_NATIVE_F32_GATHER 2  /* float scan with AVX-512 gathers */
#define TARQ_NATIVE_ATTEND 4      /* tarq_attend_rows (AVX-512F or AVX2 + FMA); without it the function returns -1 */
#define TARQ_NATIVE_U8_AVX2 8     /* uint8 scan with vpshufb lookups of 16-entry sub-tables (AVX2) */
#define TARQ_NATIVE_ATTEND_16 16  /* tarq_attend_rows on 16-lane vectors (AVX-512F); with ATTEND alone, 8 lanes */

int32_t tarq_native_features(void) {
    int32_t features = 0;
#if defined(SCAN_U8_VBMI)
    features |= TARQ_NATIVE_U8_VBMI;
#elif defined(SCAN_U8_AVX2)
    features |= TARQ_NATIVE_U8_AVX2;
#endif
#if defined(__AVX512F__)
    features |= TARQ_NATIVE_F32_GATHER;
#endif
#if defined(ATTEND_512)
    features |= TARQ_NATIVE_ATTEND | TARQ_NATIVE_ATTEND_16;
#elif defined(ATTEND_256)
    features |= TARQ_NATIVE_ATTEND;
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
#if defined(SCAN_U8_VBMI)
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

#if defined(SCAN_U8_AVX2)
/*
 * 32 candidates a step, candidates in byte lanes. AVX2 has no byte permute over more than 16 entries (vpshufb looks
 * up within each 128-bit half), so a level's table is sixteen 16-entry sub-tables, one a value of the code's high
 * nibble, and every code is looked up in all sixteen:
 *   - sub-tables 2p and 2p + 1 by vpshufb with the code's low nibble as index, bit 7 of the index set (vpshufb then
 *     gives 0) for the one the code's bit 4 does not choose, and OR: a pair costs two shuffles and an OR;
 *   - the eight pairs' results by a tree of seven vpblendvb on the code's bits 5, 6, 7 (vpblendvb reads bit 7 of each
 *     mask byte: the code shifted left by 2, 1 and 0 bits puts bits 5, 6 and 7 there; a 16-bit shift's carry between
 *     bytes lands in bit 0, never read).
 * Of the forms timed on the AVX2-only AMD EPYC (L = 3, 5,000 candidates, a C loop), this was the fastest; a blend for
 * bit 4 too, bits 4 and 5 both by zeroing, and 64 candidates a step were within 10% of it; one index a sub-table,
 * vpgatherdd from the table widened to int32 and the scalar loop below were 1.8 to 4 times slower.
 * Widening as scan_u8_vbmi: an AND and a shift into even and odd candidates' uint16 sums, interleaved at the end.
 */
static inline __attribute__((always_inline)) void scan_u8_avx2(const uint8_t *codes, int32_t stride, int32_t count,
                                                                const int levels, const uint8_t *lut, uint16_t *sums) {
    const __m256i low_nibble = _mm256_set1_epi8(0x0F);
    const __m256i top_bit = _mm256_set1_epi8((char) 0x80);
    const __m256i low_bytes = _mm256_set1_epi16(0x00FF);
    for (int32_t i = 0; i < count; i += 32) {
        __m256i even = _mm256_setzero_si256();
        __m256i odd = _mm256_setzero_si256();
        for (int l = 0; l < levels; l++) {
            const uint8_t *table = lut + l * 256;
            __m256i code = _mm256_loadu_si256((const __m256i *) (codes + (size_t) l * stride + i));
            /* Low nibble, and bit 7 = the code's bit 4: zero from the even sub-table of a pair when the odd one is
             * the code's, and the other way round with bit 7 flipped. */
            __m256i even_index = _mm256_or_si256(_mm256_and_si256(code, low_nibble),
                                                 _mm256_and_si256(_mm256_slli_epi16(code, 3), top_bit));
            __m256i odd_index = _mm256_xor_si256(even_index, top_bit);
            __m256i bit5 = _mm256_slli_epi16(code, 2), bit6 = _mm256_slli_epi16(code, 1);
            __m256i pick[8]; /* pick[p]: the entry if the code's high nibble is 2p or 2p + 1 */
            for (int p = 0; p < 8; p++) {
                __m256i even_table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *) (table + 32 * p)));
                __m256i odd_table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *) (table + 32 * p + 16)));
                pick[p] = _mm256_or_si256(_mm256_shuffle_epi8(even_table, even_index),
                                          _mm256_shuffle_epi8(odd_table, odd_index));
            }
            for (int p = 0; p < 4; p++) {
                pick[p] = _mm256_blendv_epi8(pick[2 * p], pick[2 * p + 1], bit5);
            }
            for (int p = 0; p < 2; p++) {
                pick[p] = _mm256_blendv_epi8(pick[2 * p], pick[2 * p + 1], bit6);
            }
            __m256i entry = _mm256_blendv_epi8(pick[0], pick[1], code); /* bit 7: codes 128..255 */
            even = _mm256_add_epi16(even, _mm256_and_si256(entry, low_bytes));
            odd = _mm256_add_epi16(odd, _mm256_srli_epi16(entry, 8));
        }
        /* Within each 128-bit half, unpack interleaves words 0..3 (4..7) of even and odd: candidates 0..7 and
         * 16..23 (8..15 and 24..31); the two cross-half permutes put them in order. */
        __m256i first = _mm256_unpacklo_epi16(even, odd);
        __m256i second = _mm256_unpackhi_epi16(even, odd);
        _mm256_storeu_si256((__m256i *) (sums + i), _mm256_permute2x128_si256(first, second, 0x20));
        _mm256_storeu_si256((__m256i *) (sums + i + 16), _mm256_permute2x128_si256(first, second, 0x31));
    }
}
#endif

/* The specification's loop (ScalarKernels.lutScanU8), for builds without AVX2 and levels outside 1..8. */
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
#if defined(SCAN_U8_VBMI)
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
#elif defined(SCAN_U8_AVX2)
    switch (levels) { /* one instance a level count: the loop over levels unrolls */
        case 1: scan_u8_avx2(codes, stride, count, 1, lut, sums); return;
        case 2: scan_u8_avx2(codes, stride, count, 2, lut, sums); return;
        case 3: scan_u8_avx2(codes, stride, count, 3, lut, sums); return;
        case 4: scan_u8_avx2(codes, stride, count, 4, lut, sums); return;
        case 5: scan_u8_avx2(codes, stride, count, 5, lut, sums); return;
        case 6: scan_u8_avx2(codes, stride, count, 6, lut, sums); return;
        case 7: scan_u8_avx2(codes, stride, count, 7, lut, sums); return;
        case 8: scan_u8_avx2(codes, stride, count, 8, lut, sums); return;
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
 *   scores    [n][4][16]               scratch: NATIVE_SCORES_PER_KEY = 64 floats a key ([n][4][8] on AVX2)
 *   out       [count]                  nothing past count is written
 *
 * Lanes run over 16 queries (a "group", a quarter of a 64-query block), as in PanamaKernels.attendRows, and every
 * lane computes with the same operations in the same order as the Java kernel on 512-bit vectors: each score a chain
 * of dh FMAs from zero, the max (where the bound requires it), exp2 as DeterministicMath, the sum and the u-weighted
 * sum accumulated key by key, one division a head, heads added in order; so the results are the same bits. The
 * schedule is the Java kernel's too: the four groups of a block times four keys a step, 16 independent FMA chains on
 * 4 query loads and 4 broadcasts.
 * An AVX2 + FMA build has the same on 8 lanes (attend_tile_256 below); -1 when the build has neither.
 */
#define GROUP 16        /* queries a group: the lanes of a 512-bit float vector */
#define BLOCK 64        /* queries a block of the layout */
#define TILE_BLOCKS 4   /* groups scored together: a block */

#if defined(ATTEND_512)
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


#if defined(ATTEND_256)
/*
 * The same on AVX2 + FMA, as PanamaKernels.attendRows runs where the preferred float vectors are 256 bits: a group is
 * 8 queries (an eighth of a 64-query block) and four groups, 32 queries, are scored together; every lane computes the
 * same operations in the same order as the Java kernel on 256-bit vectors, so the results are the same bits. Four
 * groups times four keys would be 16 accumulators and 4 broadcasts in AVX2's 16 registers: C scores two keys a step
 * (8 accumulators), which changes no lane's operations; in a C loop over the 768-row build (n = 50) two and three
 * keys a step were equally fast, four (spilling registers) a fifth slower.
 * Like the Java kernel, it always scores all four groups of a tile: a tile lies within one 64-query block, whose
 * padding is zero queries, and lanes past count are never stored.
 */
#define GROUP_256 8        /* queries a group: the lanes of a 256-bit float vector */
#define KEYS_256 2         /* keys scored a step */

/* exp2_in_range on 8 lanes: DeterministicMath.exp2InRange, operation for operation. */
static inline __attribute__((always_inline)) __m256 exp2_in_range_256(__m256 x) {
    const __m256 rounding = _mm256_set1_ps(12582912.0f + 127.0f);
    __m256 shifted = _mm256_add_ps(x, rounding);
    __m256 k = _mm256_sub_ps(shifted, rounding);
    __m256 f = _mm256_sub_ps(x, k);
    __m256 p = _mm256_set1_ps(1.535336188319500e-4f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.339887440266574e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.618437357674640e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.550332471162809e-2f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.402264791363012e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.931472028550421e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    __m256i exponent = _mm256_slli_epi32(_mm256_castps_si256(shifted), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(exponent));
}

/* DeterministicMath.exp2: for x ≤ 0; below −126 it gives 2^−126. */
static inline __attribute__((always_inline)) __m256 exp2_deterministic_256(__m256 x) {
    return exp2_in_range_256(_mm256_max_ps(x, _mm256_set1_ps(-126.0f)));
}

/*
 * Head `head_index` of the four groups of the tile at `q` (component t of group b's queries at q[t·64 + b·8]): adds
 * each group's readout for this head to readout[b]. scores [n][4][8].
 */
static inline __attribute__((always_inline)) void attend_head_256(
        const float *q, int32_t d, int32_t dh, int32_t head_index, int32_t n, const float *keys, const float *u,
        const float *null_k, float bound, float *scores, __m256 *readout) {
    const int32_t head = head_index * dh;
    const float *qh = q + (size_t) head * BLOCK;
    __m256 max[TILE_BLOCKS];
    for (int b = 0; b < TILE_BLOCKS; b++) {
        max[b] = _mm256_set1_ps(-__builtin_inff());
    }
    int32_t m = 0;
    /* Pass 1: scores, KEYS_256 keys a step. */
    for (; m + KEYS_256 <= n; m += KEYS_256) {
        __m256 s[TILE_BLOCKS][KEYS_256];
        for (int b = 0; b < TILE_BLOCKS; b++) {
            for (int k = 0; k < KEYS_256; k++) {
                s[b][k] = _mm256_setzero_ps();
            }
        }
        const float *key = keys + (size_t) m * d + head;
        for (int32_t t = 0; t < dh; t++) {
            __m256 kt[KEYS_256];
            for (int k = 0; k < KEYS_256; k++) {
                kt[k] = _mm256_broadcast_ss(key + (size_t) k * d + t);
            }
            for (int b = 0; b < TILE_BLOCKS; b++) {
                __m256 qt = _mm256_loadu_ps(qh + (size_t) t * BLOCK + b * GROUP_256);
                for (int k = 0; k < KEYS_256; k++) {
                    s[b][k] = _mm256_fmadd_ps(qt, kt[k], s[b][k]);
                }
            }
        }
        for (int b = 0; b < TILE_BLOCKS; b++) {
            for (int k = 0; k < KEYS_256; k++) {
                _mm256_storeu_ps(scores + ((size_t) (m + k) * TILE_BLOCKS + b) * GROUP_256, s[b][k]);
                max[b] = _mm256_max_ps(max[b], s[b][k]);
            }
        }
    }
    for (; m < n; m++) { /* remaining keys, one at a time */
        __m256 s[TILE_BLOCKS];
        for (int b = 0; b < TILE_BLOCKS; b++) {
            s[b] = _mm256_setzero_ps();
        }
        const float *key = keys + (size_t) m * d + head;
        for (int32_t t = 0; t < dh; t++) {
            __m256 kt = _mm256_broadcast_ss(key + t);
            for (int b = 0; b < TILE_BLOCKS; b++) {
                s[b] = _mm256_fmadd_ps(_mm256_loadu_ps(qh + (size_t) t * BLOCK + b * GROUP_256), kt, s[b]);
            }
        }
        for (int b = 0; b < TILE_BLOCKS; b++) {
            _mm256_storeu_ps(scores + ((size_t) m * TILE_BLOCKS + b) * GROUP_256, s[b]);
            max[b] = _mm256_max_ps(max[b], s[b]);
        }
    }
    if (null_k == NULL && n == 0) {
        return; /* no keys and no null key: the head adds nothing */
    }
    /* As attend_head: groups whose queries are all within the bound take 2^s with no max and no clamp. */
    __m256 sum[TILE_BLOCKS], weighted[TILE_BLOCKS];
    int in_range[TILE_BLOCKS];
    for (int b = 0; b < TILE_BLOCKS; b++) {
        __m256 norm_sq = _mm256_setzero_ps(), null_score = _mm256_setzero_ps();
        for (int32_t t = 0; t < dh; t++) {
            __m256 qt = _mm256_loadu_ps(qh + (size_t) t * BLOCK + b * GROUP_256);
            norm_sq = _mm256_fmadd_ps(qt, qt, norm_sq);
            if (null_k != NULL) {
                null_score = _mm256_fmadd_ps(qt, _mm256_set1_ps(null_k[head + t]), null_score);
            }
        }
        in_range[b] = _mm256_movemask_ps(_mm256_cmp_ps(norm_sq, _mm256_set1_ps(bound), _CMP_LE_OQ)) == 0xFF;
        sum[b] = _mm256_setzero_ps();
        weighted[b] = _mm256_setzero_ps();
        if (null_k != NULL) {
            if (in_range[b]) {
                sum[b] = exp2_in_range_256(null_score);
            } else {
                max[b] = _mm256_max_ps(max[b], null_score);
                sum[b] = exp2_deterministic_256(_mm256_sub_ps(null_score, max[b]));
            }
        }
    }
    /* Pass 2: weights, their sum and the u-weighted sum; the common case, every group in range, has its own loop. */
    int all_in_range = in_range[0] & in_range[1] & in_range[2] & in_range[3];
    if (all_in_range) {
        for (m = 0; m < n; m++) {
            __m256 um = _mm256_broadcast_ss(u + m);
            for (int b = 0; b < TILE_BLOCKS; b++) {
                __m256 e = exp2_in_range_256(_mm256_loadu_ps(scores + ((size_t) m * TILE_BLOCKS + b) * GROUP_256));
                sum[b] = _mm256_add_ps(sum[b], e);
                weighted[b] = _mm256_fmadd_ps(e, um, weighted[b]);
            }
        }
    } else {
        for (m = 0; m < n; m++) {
            __m256 um = _mm256_broadcast_ss(u + m);
            for (int b = 0; b < TILE_BLOCKS; b++) {
                __m256 s = _mm256_loadu_ps(scores + ((size_t) m * TILE_BLOCKS + b) * GROUP_256);
                __m256 e = in_range[b] ? exp2_in_range_256(s) : exp2_deterministic_256(_mm256_sub_ps(s, max[b]));
                sum[b] = _mm256_add_ps(sum[b], e);
                weighted[b] = _mm256_fmadd_ps(e, um, weighted[b]);
            }
        }
    }
    for (int b = 0; b < TILE_BLOCKS; b++) {
        readout[b] = _mm256_add_ps(readout[b], _mm256_div_ps(weighted[b], sum[b]));
    }
}

/* The tile of four groups from query first_query (a multiple of 32): every head, then the lanes below count out. */
static void attend_tile_256(const float *queries_t, int32_t first_query, int32_t count, int32_t heads, int32_t dh,
                            int32_t n, const float *keys, const float *u, int32_t u_stride, const float *null_k,
                            const float *bounds, float *scores, float *out) {
    const int32_t d = heads * dh;
    const float *q = queries_t + (size_t) (first_query / BLOCK) * d * BLOCK + first_query % BLOCK;
    __m256 readout[TILE_BLOCKS];
    for (int b = 0; b < TILE_BLOCKS; b++) {
        readout[b] = _mm256_setzero_ps();
    }
    for (int32_t j = 0; j < heads; j++) {
        attend_head_256(q, d, dh, j, n, keys, u + (size_t) j * u_stride, null_k, bounds[j], scores, readout);
    }
    for (int b = 0; b < TILE_BLOCKS; b++) {
        int32_t first = first_query + b * GROUP_256;
        if (first + GROUP_256 <= count) {
            _mm256_storeu_ps(out + first, readout[b]);
        } else if (first < count) {
            __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(count - first), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            _mm256_maskstore_ps(out + first, live, readout[b]);
        }
    }
}
#endif

int32_t tarq_attend_rows(const float *queries_t, int32_t count, int32_t heads, int32_t head_dim, int32_t n,
                         const float *keys, const float *u, int32_t u_stride, const float *null_k,
                         const float *bounds, float *scores, float *out) {
#if defined(ATTEND_512)
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
#elif defined(ATTEND_256)
    for (int32_t first = 0; first < count; first += TILE_BLOCKS * GROUP_256) {
        attend_tile_256(queries_t, first, count, heads, head_dim, n, keys, u, u_stride, null_k, bounds, scores, out);
    }
    return 0;
#else
    (void) queries_t; (void) count; (void) heads; (void) head_dim; (void) n; (void) keys; (void) u; (void) u_stride;
    (void) null_k; (void) bounds; (void) scores; (void) out;
    return -1;
#endif
}
