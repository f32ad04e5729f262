package io.tarq.engine.kernel.panama;

import io.tarq.engine.kernel.AttentionKeys;
import io.tarq.engine.kernel.CpuFeatures;
import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.Kernels;
import io.tarq.engine.kernel.ScalarKernels;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The kernels on the Vector API. Each method computes what its {@link ScalarKernels} twin computes; float results
 * may differ in rounding (FMA, summation order), integer results never.
 *
 * <p>Hardware facts behind the choices (measured on Zen 5, see shared notes): a small float table is as fast read by
 * scalar loads as by AVX-512 gathers, so the float-table scan stays scalar; a 256-entry uint8 table fits four
 * 64-byte registers and two-vector {@code selectFrom} ({@code vpermi2b}, AVX-512 VBMI) looks up 64 candidates per
 * level in two instructions, so that scan is vectorized where VBMI exists and scalar elsewhere (AVX2 has no byte
 * permute across 128 entries).
 */
public final class PanamaKernels implements KernelSupport, Kernels.Described {
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> BYTES_512 = ByteVector.SPECIES_512;
    private static final VectorSpecies<Short> SHORTS_512 = ShortVector.SPECIES_512;
    private static final int FLOAT_LANES = FLOATS.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final boolean byteTablesInRegisters;

    public PanamaKernels() {
        if (FLOATS.vectorBitSize() < 256) {
            throw new UnsupportedOperationException("vectors are " + FLOATS.vectorBitSize()
                    + " bits wide here; the Vector API kernels need 256 or more");
        }
        byteTablesInRegisters = FLOATS.vectorBitSize() >= 512 && CpuFeatures.hasAvx512Vbmi();
    }

    @Override
    public String name() {
        return "panama";
    }

    @Override
    public String description() {
        return "panama, " + FLOATS.vectorBitSize() + "-bit float vectors, uint8 tables "
                + (byteTablesInRegisters ? "in registers (AVX-512 VBMI)" : "read by scalar loads (no AVX-512 VBMI)");
    }

    /** Whether the uint8 scan keeps its tables in registers (AVX-512 VBMI) or falls back to scalar loads. */
    public boolean byteTablesInRegisters() {
        return byteTablesInRegisters;
    }

    @Override
    public void linear(float[] x, int xOffset, int rows, int in, float[] wT, float[] bias, int out, float[] y, int yOffset) {
        int r = 0;
        // Four rows at a time: each weight vector loaded once feeds four FMAs, and the four accumulators are
        // independent chains (one row alone is a chain of `in` dependent FMAs an output vector: latency-bound).
        for (; r + 4 <= rows; r += 4) {
            linearFourRows(x, xOffset + r * in, in, wT, bias, out, y, yOffset + r * out);
        }
        for (; r < rows; r++) {
            linearOneRow(x, xOffset + r * in, in, wT, bias, out, y, yOffset + r * out);
        }
    }

    private static void linearFourRows(float[] x, int x0, int in, float[] wT, float[] bias, int out, float[] y, int y0) {
        int vectorEnd = FLOATS.loopBound(out);
        for (int o = 0; o < vectorEnd; o += FLOAT_LANES) {
            FloatVector a0 = bias == null ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, bias, o);
            FloatVector a1 = a0, a2 = a0, a3 = a0;
            for (int t = 0; t < in; t++) {
                FloatVector w = FloatVector.fromArray(FLOATS, wT, t * out + o);
                a0 = w.fma(FloatVector.broadcast(FLOATS, x[x0 + t]), a0);
                a1 = w.fma(FloatVector.broadcast(FLOATS, x[x0 + in + t]), a1);
                a2 = w.fma(FloatVector.broadcast(FLOATS, x[x0 + 2 * in + t]), a2);
                a3 = w.fma(FloatVector.broadcast(FLOATS, x[x0 + 3 * in + t]), a3);
            }
            a0.intoArray(y, y0 + o);
            a1.intoArray(y, y0 + out + o);
            a2.intoArray(y, y0 + 2 * out + o);
            a3.intoArray(y, y0 + 3 * out + o);
        }
        for (int row = 0; row < 4; row++) { // scalar tail of the outputs
            scalarOutputs(x, x0 + row * in, in, wT, bias, out, y, y0 + row * out, vectorEnd);
        }
    }

    private static void linearOneRow(float[] x, int xRow, int in, float[] wT, float[] bias, int out, float[] y, int yRow) {
        int vectorEnd = FLOATS.loopBound(out);
        // Lanes run over outputs: y[o..o+lanes) += x[t] · wT[t][o..o+lanes), one broadcast per input.
        for (int o = 0; o < vectorEnd; o += FLOAT_LANES) {
            FloatVector acc = bias == null ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, bias, o);
            for (int t = 0; t < in; t++) {
                acc = FloatVector.fromArray(FLOATS, wT, t * out + o).fma(FloatVector.broadcast(FLOATS, x[xRow + t]), acc);
            }
            acc.intoArray(y, yRow + o);
        }
        scalarOutputs(x, xRow, in, wT, bias, out, y, yRow, vectorEnd);
    }

    /** Outputs [from, out) of one row, in scalar code. */
    private static void scalarOutputs(float[] x, int xRow, int in, float[] wT, float[] bias, int out, float[] y, int yRow, int from) {
        for (int o = from; o < out; o++) {
            float acc = bias == null ? 0f : bias[o];
            for (int t = 0; t < in; t++) {
                acc += x[xRow + t] * wT[t * out + o];
            }
            y[yRow + o] = acc;
        }
    }

    @Override
    public void dotRows(MemorySegment vec, int dim, int[] rows, int count, float[] u, float scale, float shift, float[] out) {
        int vectorEnd = FLOATS.loopBound(dim);
        long rowBytes = 4L * dim;
        for (int i = 0; i < count; i++) {
            long base = rows[i] * rowBytes;
            FloatVector acc = FloatVector.zero(FLOATS);
            for (int j = 0; j < vectorEnd; j += FLOAT_LANES) {
                acc = FloatVector.fromMemorySegment(FLOATS, vec, base + 4L * j, LE).fma(FloatVector.fromArray(FLOATS, u, j), acc);
            }
            float dot = DeterministicMath.sum(acc);
            for (int j = vectorEnd; j < dim; j++) { // scalar tail
                dot += u[j] * vec.get(io.tarq.layout.Layouts.F32, base + 4L * j);
            }
            out[i] = scale * dot + shift;
        }
    }

    @Override
    public void attendRows(float[] queriesT, int count, AttentionKeys keys, float[] scores, float[] out) {
        // Lanes run over 16 queries (two 8-lane halves on 256-bit vectors): every key's score is its own chain of dh
        // FMAs, independent of the other keys', and the softmax over keys is lane-wise: no horizontal reduction.
        int n = keys.n, d = keys.d, dh = keys.headDim, block = QUERY_BLOCK;
        float[] k = keys.keys, u = keys.u, nullK = keys.nullK;
        int blocks = (count + block - 1) / block;
        for (int b = 0; b < blocks; b++) {
            for (int half = 0; half < block; half += FLOAT_LANES) {
                int q = b * d * block + half; // component c of these lanes' queries at q + c·block
                FloatVector readout = FloatVector.zero(FLOATS);
                for (int j = 0; j < keys.heads; j++) {
                    int head = j * dh;
                    FloatVector max = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY);
                    int m = 0;
                    // Four keys a step: each query component loaded from L1 feeds four FMAs, and four chains overlap.
                    for (; m + 4 <= n; m += 4) {
                        FloatVector s0 = FloatVector.zero(FLOATS), s1 = s0, s2 = s0, s3 = s0;
                        int key = m * d + head;
                        for (int t = 0; t < dh; t++) {
                            FloatVector qt = FloatVector.fromArray(FLOATS, queriesT, q + (head + t) * block);
                            s0 = qt.fma(FloatVector.broadcast(FLOATS, k[key + t]), s0);
                            s1 = qt.fma(FloatVector.broadcast(FLOATS, k[key + d + t]), s1);
                            s2 = qt.fma(FloatVector.broadcast(FLOATS, k[key + 2 * d + t]), s2);
                            s3 = qt.fma(FloatVector.broadcast(FLOATS, k[key + 3 * d + t]), s3);
                        }
                        s0.intoArray(scores, m * FLOAT_LANES);
                        s1.intoArray(scores, (m + 1) * FLOAT_LANES);
                        s2.intoArray(scores, (m + 2) * FLOAT_LANES);
                        s3.intoArray(scores, (m + 3) * FLOAT_LANES);
                        max = max.max(s0).max(s1).max(s2).max(s3);
                    }
                    for (; m < n; m++) { // remaining keys, one at a time
                        FloatVector s = FloatVector.zero(FLOATS);
                        int key = m * d + head;
                        for (int t = 0; t < dh; t++) {
                            s = FloatVector.fromArray(FLOATS, queriesT, q + (head + t) * block)
                                    .fma(FloatVector.broadcast(FLOATS, k[key + t]), s);
                        }
                        s.intoArray(scores, m * FLOAT_LANES);
                        max = max.max(s);
                    }
                    FloatVector nullScore = null;
                    if (nullK != null) {
                        nullScore = FloatVector.zero(FLOATS);
                        for (int t = 0; t < dh; t++) {
                            nullScore = FloatVector.fromArray(FLOATS, queriesT, q + (head + t) * block)
                                    .fma(FloatVector.broadcast(FLOATS, nullK[head + t]), nullScore);
                        }
                        max = max.max(nullScore);
                    } else if (n == 0) {
                        continue; // no keys and no null key: the head adds nothing
                    }
                    FloatVector sum = nullScore == null ? FloatVector.zero(FLOATS) : DeterministicMath.exp2(nullScore.sub(max));
                    FloatVector weighted = FloatVector.zero(FLOATS);
                    int uRow = j * keys.stride;
                    for (m = 0; m < n; m++) {
                        FloatVector e = DeterministicMath.exp2(FloatVector.fromArray(FLOATS, scores, m * FLOAT_LANES).sub(max));
                        sum = sum.add(e);
                        weighted = e.fma(FloatVector.broadcast(FLOATS, u[uRow + m]), weighted);
                    }
                    readout = readout.add(weighted.div(sum));
                }
                int first = b * block + half;
                if (first + FLOAT_LANES <= count) {
                    readout.intoArray(out, first);
                } else if (first < count) {
                    readout.intoArray(out, first, FLOATS.indexInRange(first, count));
                }
            }
        }
    }

    @Override
    public void attendValues(float[] queries, int count, AttentionKeys keys, float[] values, float[] scores, float[] out) {
        int n = keys.n, d = keys.d, dh = keys.headDim, stride = keys.stride;
        float[] kT = keys.keysT, nullK = keys.nullK;
        // Head widths are multiples of the lane count only for some models (dh = 16 fills one 512-bit vector):
        // vectorize the value sum over dh when it divides, else over keys alone.
        boolean valuesByLanes = dh % FLOAT_LANES == 0;
        for (int i = 0; i < count; i++) {
            int q = i * d;
            for (int j = 0; j < keys.heads; j++) {
                int head = j * dh;
                float maxScore = scoreKeys(queries, q + head, kT, head, stride, n, dh, scores);
                float nullScore = 0;
                if (nullK != null) {
                    for (int t = 0; t < dh; t++) {
                        nullScore += queries[q + head + t] * nullK[head + t];
                    }
                    maxScore = Math.max(maxScore, nullScore);
                }
                java.util.Arrays.fill(out, q + head, q + head + dh, 0f);
                if (maxScore == Float.NEGATIVE_INFINITY) {
                    continue;
                }
                FloatVector shift = FloatVector.broadcast(FLOATS, maxScore);
                FloatVector sum = FloatVector.zero(FLOATS);
                for (int m = 0; m < n; m += FLOAT_LANES) {
                    VectorMask<Float> live = FLOATS.indexInRange(m, n);
                    FloatVector e = DeterministicMath.exp2(FloatVector.fromArray(FLOATS, scores, m).sub(shift).blend(0f, live.not()))
                            .blend(0f, live.not());
                    e.intoArray(scores, m);
                    sum = sum.add(e);
                }
                float total = DeterministicMath.sum(sum);
                if (nullK != null) {
                    total += ScalarKernels.exp2(nullScore - maxScore);
                }
                float inverse = 1 / total;
                if (valuesByLanes) {
                    for (int t = 0; t < dh; t += FLOAT_LANES) {
                        FloatVector acc = FloatVector.zero(FLOATS);
                        for (int m = 0; m < n; m++) {
                            acc = FloatVector.fromArray(FLOATS, values, m * d + head + t)
                                    .fma(FloatVector.broadcast(FLOATS, scores[m] * inverse), acc);
                        }
                        acc.intoArray(out, q + head + t);
                    }
                } else {
                    for (int m = 0; m < n; m++) {
                        float weight = scores[m] * inverse;
                        for (int t = 0; t < dh; t++) {
                            out[q + head + t] += weight * values[m * d + head + t];
                        }
                    }
                }
            }
        }
    }

    /**
     * Pass 1 of a head's attention: {@code scores[m] = q·K_j[m]} for m < n, 16 (8) keys a step with lanes over keys
     * and one broadcast of q[t] a component; returns the largest score.
     */
    private static float scoreKeys(float[] queries, int q, float[] kT, int head, int stride, int n, int dh, float[] scores) {
        FloatVector max = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY);
        for (int m = 0; m < n; m += FLOAT_LANES) {
            FloatVector s = FloatVector.zero(FLOATS);
            for (int t = 0; t < dh; t++) {
                s = FloatVector.fromArray(FLOATS, kT, (head + t) * stride + m).fma(FloatVector.broadcast(FLOATS, queries[q + t]), s);
            }
            s.intoArray(scores, m);
            max = max.lanewise(VectorOperators.MAX, s, FLOATS.indexInRange(m, n));
        }
        return max.reduceLanes(VectorOperators.MAX); // exact in any order, unlike a float sum
    }

    @Override
    public void lutScanF32(byte[] codes, int stride, int count, int levels, int codebookSize, float[] lut, float[] out) {
        // Scalar loads of a small float table are as fast as AVX-512 gathers (FAISS found the same).
        ScalarKernels.INSTANCE.lutScanF32(codes, stride, count, levels, codebookSize, lut, out);
    }

    @Override
    public void lutScanU8(byte[] codes, int stride, int count, int levels, byte[] lutU8, short[] sums) {
        if (!byteTablesInRegisters) {
            ScalarKernels.INSTANCE.lutScanU8(codes, stride, count, levels, lutU8, sums);
            return;
        }
        int lanes = BYTES_512.length(); // 64 candidates a step
        for (int i = 0; i < count; i += lanes) {
            scanBlockU8(codes, stride, i, levels, lutU8, sums);
        }
    }

    /**
     * One step of the uint8 scan: 64 candidates from {@code i}, all levels. A method of its own, so that C2 compiles
     * it as a small unit with every vector in registers: inlined whole into the request path, it was compiled without
     * its intrinsics in about half of the JVMs measured, boxing its vectors (106 KB a request).
     */
    private static void scanBlockU8(byte[] codes, int stride, int i, int levels, byte[] lutU8, short[] sums) {
        // Candidates in lanes; uint16 sums in two vectors of 32 lanes (candidates i..i+31, i+32..i+63).
        ShortVector low = ShortVector.zero(SHORTS_512);
        ShortVector high = ShortVector.zero(SHORTS_512);
        for (int l = 0; l < levels; l++) {
            int table = l * 256;
            ByteVector code = ByteVector.fromArray(BYTES_512, codes, l * stride + i);
            // selectFrom(a, b) indexes the 128 bytes of a‖b and wraps indices mod 128: codes 0..127 read
            // entries 0..127, codes 128..255 (negative bytes) read 128..255 from the second pair.
            ByteVector first = code.selectFrom(ByteVector.fromArray(BYTES_512, lutU8, table),
                    ByteVector.fromArray(BYTES_512, lutU8, table + 64));
            ByteVector second = code.selectFrom(ByteVector.fromArray(BYTES_512, lutU8, table + 128),
                    ByteVector.fromArray(BYTES_512, lutU8, table + 192));
            ByteVector entry = first.blend(second, code.compare(VectorOperators.LT, (byte) 0));
            low = low.add((ShortVector) entry.convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_512, 0));
            high = high.add((ShortVector) entry.convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_512, 1));
        }
        low.intoArray(sums, i);
        high.intoArray(sums, i + SHORTS_512.length());
    }
}
