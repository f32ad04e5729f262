package io.tarq.engine.kernel.panama;

import io.tarq.engine.kernel.AttentionKeys;
import io.tarq.engine.kernel.CpuFeatures;
import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.Kernels;
import io.tarq.engine.kernel.ScalarKernels;
import io.tarq.layout.Layouts;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The kernels on the Vector API. Each method computes what its {@link ScalarKernels} twin computes; float results
 * may differ in rounding (FMA, summation order), integer results never.
 *
 * <p>Hardware facts behind the choices (measured on AMD Zen 5, docs/benchmarks.md): a small float table is as fast
 * read by scalar loads as by AVX-512 gathers, so the float-table scan stays scalar; a 256-entry uint8 table fits four
 * 64-byte registers and two-vector {@code selectFrom} ({@code vpermi2b}, AVX-512 VBMI) looks up 64 candidates per
 * level in two instructions. AVX2 has no byte permute across more than 32 entries: there the table is eight 32-byte
 * registers a level, each looked up by a 256-bit {@code selectFrom}, and blends on the code's top three bits pick
 * the entry (2.8 times as fast as scalar loads on the AVX2 EPYC; {@code U8ScanFormsBenchmark} in the jmh module
 * compares this kernel with other forms).
 */
public final class PanamaKernels implements KernelSupport, Kernels.Described {
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> BYTES_512 = ByteVector.SPECIES_512;
    private static final VectorSpecies<Short> SHORTS_512 = ShortVector.SPECIES_512;
    private static final VectorSpecies<Byte> BYTES_256 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Short> SHORTS_256 = ShortVector.SPECIES_256;
    // Swaps the 128-bit halves of a 256-bit vector (C2 emits one vpermd), so that the upper 16 bytes widen like the
    // lower 16. Fewer instructions than convertShape(…, part 1), which slices the bytes with a 256-bit byte rearrange
    // (five instructions on AVX2) and a blend (U8ScanFormsBenchmark: this kernel, panama, against select32).
    private static final VectorShuffle<Long> SWAP_HALVES = VectorShuffle.fromValues(LongVector.SPECIES_256, 2, 3, 0, 1);
    private static final int FLOAT_LANES = FLOATS.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final boolean byteTablesInRegisters;
    private final boolean byteTablesShuffled;

    /**
     * Creates the kernels for this machine's preferred vector width; {@link Kernels} calls it by reflection, once.
     *
     * @throws UnsupportedOperationException the preferred float vectors are narrower than 256 bits
     */
    public PanamaKernels() {
        if (FLOATS.vectorBitSize() < 256) {
            throw new UnsupportedOperationException("vectors are " + FLOATS.vectorBitSize()
                    + " bits wide here; the Vector API kernels need 256 or more");
        }
        byteTablesInRegisters = FLOATS.vectorBitSize() >= 512 && CpuFeatures.hasAvx512Vbmi();
        byteTablesShuffled = !byteTablesInRegisters && VectorShape.largestShapeFor(byte.class).vectorBitSize() >= 256;
    }

    @Override
    public String name() {
        return "panama";
    }

    @Override
    public String description() {
        return "panama, " + FLOATS.vectorBitSize() + "-bit float vectors, uint8 tables "
                + (byteTablesInRegisters ? "in registers (AVX-512 VBMI)"
                : byteTablesShuffled ? "in registers (256-bit byte shuffles, no AVX-512 VBMI)"
                : "read by scalar loads (no 256-bit byte vectors)");
    }

    /**
     * Returns whether the uint8 scan looks its tables up with two-vector byte permutes ({@code vpermi2b}).
     *
     * @return true with 512-bit vectors and AVX-512 VBMI
     */
    public boolean byteTablesInRegisters() {
        return byteTablesInRegisters;
    }

    /**
     * Returns whether the uint8 scan, lacking {@code vpermi2b}, looks its tables up with 256-bit byte shuffles
     * (eight 32-entry sub-tables a level); when neither this nor {@link #byteTablesInRegisters()} holds, it reads
     * the tables with scalar loads.
     *
     * @return true without AVX-512 VBMI when the JIT has 256-bit byte vectors (AVX2)
     */
    public boolean byteTablesShuffled() {
        return byteTablesShuffled;
    }

    @Override
    public void linear(float[] x, int xOffset, int rows, int in, float[] wT, float[] bias, int out, float[] y, int yOffset) {
        int r = 0;
        // Five rows at a time: each weight vector loaded once feeds five FMAs, and the accumulators are independent
        // chains (one row alone is a chain of `in` dependent FMAs an output vector: latency-bound). Then four.
        for (; r + 5 <= rows; r += 5) {
            linearFiveRows(x, xOffset + r * in, in, wT, bias, out, y, yOffset + r * out);
        }
        for (; r + 4 <= rows; r += 4) {
            linearFourRows(x, xOffset + r * in, in, wT, bias, out, y, yOffset + r * out);
        }
        for (; r < rows; r++) {
            linearOneRow(x, xOffset + r * in, in, wT, bias, out, y, yOffset + r * out);
        }
    }

    /** Four floats, the lanes of one 256-bit double vector: the LayerNorm row's centring runs in double. */
    private static final VectorSpecies<Float> FLOATS_OF_DOUBLES = FloatVector.SPECIES_128;
    private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_256;

    @Override
    public void layerNormRow(float[] xs, float[] as, int offset, int d, double mean, float inverse, float[] weight,
                             float[] bias, float[] out) {
        // The scalar twin's operations lane for lane (a float sum widened, the mean subtracted in double, narrowed,
        // then two float products and a float sum): the same bits, four components a step instead of one.
        DoubleVector shift = DoubleVector.broadcast(DOUBLES, mean);
        int c = 0;
        for (; c + 4 <= d; c += 4) {
            FloatVector sum = FloatVector.fromArray(FLOATS_OF_DOUBLES, xs, offset + c)
                    .add(FloatVector.fromArray(FLOATS_OF_DOUBLES, as, offset + c));
            DoubleVector wide = (DoubleVector) sum.convertShape(VectorOperators.F2D, DOUBLES, 0);
            FloatVector centered = (FloatVector) wide.sub(shift).convertShape(VectorOperators.D2F, FLOATS_OF_DOUBLES, 0);
            centered.mul(inverse).mul(FloatVector.fromArray(FLOATS_OF_DOUBLES, weight, c))
                    .add(FloatVector.fromArray(FLOATS_OF_DOUBLES, bias, c)).intoArray(out, offset + c);
        }
        for (; c < d; c++) {
            float centered = (float) (xs[offset + c] + as[offset + c] - mean);
            out[offset + c] = centered * inverse * weight[c] + bias[c];
        }
    }

    /**
     * Two output vectors of five rows a step: ten independent FMA chains, enough to cover the FMA latency (4–5
     * cycles) on two ports, on two weight loads and five broadcasts; thirteen vector registers, so it fits AVX2's
     * sixteen. Every output is still its own chain over t in the same order: the blocking changes no bit.
     */
    private static void linearFiveRows(float[] x, int x0, int in, float[] wT, float[] bias, int out, float[] y, int y0) {
        int vectorEnd = FLOATS.loopBound(out);
        int o = 0;
        for (; o + 2 * FLOAT_LANES <= vectorEnd; o += 2 * FLOAT_LANES) {
            int p = o + FLOAT_LANES;
            FloatVector a0 = bias == null ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, bias, o);
            FloatVector b0 = bias == null ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, bias, p);
            FloatVector a1 = a0, a2 = a0, a3 = a0, a4 = a0;
            FloatVector b1 = b0, b2 = b0, b3 = b0, b4 = b0;
            for (int t = 0; t < in; t++) {
                FloatVector w = FloatVector.fromArray(FLOATS, wT, t * out + o);
                FloatVector v = FloatVector.fromArray(FLOATS, wT, t * out + p);
                FloatVector x0t = FloatVector.broadcast(FLOATS, x[x0 + t]);
                a0 = w.fma(x0t, a0);
                b0 = v.fma(x0t, b0);
                FloatVector x1t = FloatVector.broadcast(FLOATS, x[x0 + in + t]);
                a1 = w.fma(x1t, a1);
                b1 = v.fma(x1t, b1);
                FloatVector x2t = FloatVector.broadcast(FLOATS, x[x0 + 2 * in + t]);
                a2 = w.fma(x2t, a2);
                b2 = v.fma(x2t, b2);
                FloatVector x3t = FloatVector.broadcast(FLOATS, x[x0 + 3 * in + t]);
                a3 = w.fma(x3t, a3);
                b3 = v.fma(x3t, b3);
                FloatVector x4t = FloatVector.broadcast(FLOATS, x[x0 + 4 * in + t]);
                a4 = w.fma(x4t, a4);
                b4 = v.fma(x4t, b4);
            }
            a0.intoArray(y, y0 + o);
            b0.intoArray(y, y0 + p);
            a1.intoArray(y, y0 + out + o);
            b1.intoArray(y, y0 + out + p);
            a2.intoArray(y, y0 + 2 * out + o);
            b2.intoArray(y, y0 + 2 * out + p);
            a3.intoArray(y, y0 + 3 * out + o);
            b3.intoArray(y, y0 + 3 * out + p);
            a4.intoArray(y, y0 + 4 * out + o);
            b4.intoArray(y, y0 + 4 * out + p);
        }
        for (; o < vectorEnd; o += FLOAT_LANES) { // an odd output vector
            FloatVector a0 = bias == null ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, bias, o);
            FloatVector a1 = a0, a2 = a0, a3 = a0, a4 = a0;
            for (int t = 0; t < in; t++) {
                FloatVector w = FloatVector.fromArray(FLOATS, wT, t * out + o);
                a0 = w.fma(FloatVector.broadcast(FLOATS, x[x0 + t]), a0);
                a1 = w.fma(FloatVector.broadcast(FLOATS, x[x0 + in + t]), a1);
                a2 = w.fma(FloatVector.broadcast(FLOATS, x[x0 + 2 * in + t]), a2);
                a3 = w.fma(FloatVector.broadcast(FLOATS, x[x0 + 3 * in + t]), a3);
                a4 = w.fma(FloatVector.broadcast(FLOATS, x[x0 + 4 * in + t]), a4);
            }
            a0.intoArray(y, y0 + o);
            a1.intoArray(y, y0 + out + o);
            a2.intoArray(y, y0 + 2 * out + o);
            a3.intoArray(y, y0 + 3 * out + o);
            a4.intoArray(y, y0 + 4 * out + o);
        }
        for (int row = 0; row < 5; row++) { // scalar tail of the outputs
            scalarOutputs(x, x0 + row * in, in, wT, bias, out, y, y0 + row * out, vectorEnd);
        }
    }

    private static void linearFourRows(float[] x, int x0, int in, float[] wT, float[] bias, int out, float[] y, int y0) {
        int vectorEnd = FLOATS.loopBound(out);
        int o = 0;
        // Two output vectors of four rows a step: eight independent FMA chains (enough to cover the FMA latency on
        // both ports) on two weight loads and four broadcasts. Every output is still its own chain over t, in the
        // same order, so the blocking changes no bit.
        for (; o + 2 * FLOAT_LANES <= vectorEnd; o += 2 * FLOAT_LANES) {
            int p = o + FLOAT_LANES;
            FloatVector a0 = bias == null ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, bias, o);
            FloatVector b0 = bias == null ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, bias, p);
            FloatVector a1 = a0, a2 = a0, a3 = a0;
            FloatVector b1 = b0, b2 = b0, b3 = b0;
            for (int t = 0; t < in; t++) {
                FloatVector w = FloatVector.fromArray(FLOATS, wT, t * out + o);
                FloatVector v = FloatVector.fromArray(FLOATS, wT, t * out + p);
                FloatVector x0t = FloatVector.broadcast(FLOATS, x[x0 + t]);
                a0 = w.fma(x0t, a0);
                b0 = v.fma(x0t, b0);
                FloatVector x1t = FloatVector.broadcast(FLOATS, x[x0 + in + t]);
                a1 = w.fma(x1t, a1);
                b1 = v.fma(x1t, b1);
                FloatVector x2t = FloatVector.broadcast(FLOATS, x[x0 + 2 * in + t]);
                a2 = w.fma(x2t, a2);
                b2 = v.fma(x2t, b2);
                FloatVector x3t = FloatVector.broadcast(FLOATS, x[x0 + 3 * in + t]);
                a3 = w.fma(x3t, a3);
                b3 = v.fma(x3t, b3);
            }
            a0.intoArray(y, y0 + o);
            b0.intoArray(y, y0 + p);
            a1.intoArray(y, y0 + out + o);
            b1.intoArray(y, y0 + out + p);
            a2.intoArray(y, y0 + 2 * out + o);
            b2.intoArray(y, y0 + 2 * out + p);
            a3.intoArray(y, y0 + 3 * out + o);
            b3.intoArray(y, y0 + 3 * out + p);
        }
        for (; o < vectorEnd; o += FLOAT_LANES) { // an odd output vector
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
        int o = 0;
        // Lanes run over outputs: y[o..o+lanes) += x[t] · wT[t][o..o+lanes), one broadcast per input. Four output
        // vectors a step are four independent FMA chains; one alone would wait out the FMA latency at every t.
        for (; o + 4 * FLOAT_LANES <= vectorEnd; o += 4 * FLOAT_LANES) {
            int o1 = o + FLOAT_LANES, o2 = o1 + FLOAT_LANES, o3 = o2 + FLOAT_LANES;
            FloatVector a0 = bias == null ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, bias, o);
            FloatVector a1 = bias == null ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, bias, o1);
            FloatVector a2 = bias == null ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, bias, o2);
            FloatVector a3 = bias == null ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, bias, o3);
            for (int t = 0; t < in; t++) {
                FloatVector xt = FloatVector.broadcast(FLOATS, x[xRow + t]);
                int row = t * out;
                a0 = FloatVector.fromArray(FLOATS, wT, row + o).fma(xt, a0);
                a1 = FloatVector.fromArray(FLOATS, wT, row + o1).fma(xt, a1);
                a2 = FloatVector.fromArray(FLOATS, wT, row + o2).fma(xt, a2);
                a3 = FloatVector.fromArray(FLOATS, wT, row + o3).fma(xt, a3);
            }
            a0.intoArray(y, yRow + o);
            a1.intoArray(y, yRow + o1);
            a2.intoArray(y, yRow + o2);
            a3.intoArray(y, yRow + o3);
        }
        for (; o < vectorEnd; o += FLOAT_LANES) {
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
        // A chunk's rows are touched first (touchRows: many misses in flight), then computed from L1.
        int vectorEnd = FLOATS.loopBound(dim);
        long rowBytes = 4L * dim;
        for (int start = 0; start < count; start += FLOAT_CHUNK) {
            int end = Math.min(count, start + FLOAT_CHUNK);
            touchRows(vec, rowBytes, rows, start, end, out);
            int i = start;
            if (vectorEnd == dim) { // eight rows a step, their eight reductions done together
                for (; i <= end - GROUP; i += GROUP) {
                    dotGroup(vec, rowBytes, dim, rows, i, u, scale, shift, out);
                }
            }
            for (; i < end; i++) {
                out[i] = scale * dotRow(vec, rows[i] * rowBytes, dim, vectorEnd, u) + shift;
            }
        }
    }

    /**
     * ⟨u, the {@code dim} floats at {@code base}⟩: whole vectors up to {@code vectorEnd} in one FMA chain and its
     * {@link DeterministicMath#sum}, then the scalar tail. One row at a time, where {@link #dotGroup} does eight.
     */
    private static float dotRow(MemorySegment vec, long base, int dim, int vectorEnd, float[] u) {
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int j = 0; j < vectorEnd; j += FLOAT_LANES) {
            acc = FloatVector.fromMemorySegment(FLOATS, vec, base + 4L * j, LE).fma(FloatVector.fromArray(FLOATS, u, j), acc);
        }
        float dot = DeterministicMath.sum(acc);
        for (int j = vectorEnd; j < dim; j++) { // scalar tail
            dot += u[j] * vec.get(Layouts.F32, base + 4L * j);
        }
        return dot;
    }

    /** Rows a chunk of {@link #dotRows} touches before it computes them: 16 KB of 256-byte rows, which stay in L1. */
    private static final int FLOAT_CHUNK = 64;

    /**
     * out[i..i+8) = scale · ⟨row, u⟩ + shift for rows[i..i+8), each row {@code rowBytes} apart and its first
     * {@code dim} floats (whole vectors) dotted. Eight rows a step: their loads issue together, and their eight
     * reductions are done as one ({@link DeterministicMath#sums}), the same bits as eight {@code sum}s.
     */
    private static void dotGroup(MemorySegment vec, long rowBytes, int dim, int[] rows, int i, float[] u, float scale,
                                 float shift, float[] out) {
        long b0 = rows[i] * rowBytes, b1 = rows[i + 1] * rowBytes, b2 = rows[i + 2] * rowBytes,
                b3 = rows[i + 3] * rowBytes, b4 = rows[i + 4] * rowBytes, b5 = rows[i + 5] * rowBytes,
                b6 = rows[i + 6] * rowBytes, b7 = rows[i + 7] * rowBytes;
        FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int j = 0; j < dim; j += FLOAT_LANES) {
            FloatVector uj = FloatVector.fromArray(FLOATS, u, j);
            long at = 4L * j;
            a0 = FloatVector.fromMemorySegment(FLOATS, vec, b0 + at, LE).fma(uj, a0);
            a1 = FloatVector.fromMemorySegment(FLOATS, vec, b1 + at, LE).fma(uj, a1);
            a2 = FloatVector.fromMemorySegment(FLOATS, vec, b2 + at, LE).fma(uj, a2);
            a3 = FloatVector.fromMemorySegment(FLOATS, vec, b3 + at, LE).fma(uj, a3);
            a4 = FloatVector.fromMemorySegment(FLOATS, vec, b4 + at, LE).fma(uj, a4);
            a5 = FloatVector.fromMemorySegment(FLOATS, vec, b5 + at, LE).fma(uj, a5);
            a6 = FloatVector.fromMemorySegment(FLOATS, vec, b6 + at, LE).fma(uj, a6);
            a7 = FloatVector.fromMemorySegment(FLOATS, vec, b7 + at, LE).fma(uj, a7);
        }
        storeGroup(DeterministicMath.sums(a0, a1, a2, a3, a4, a5, a6, a7), scale, shift, out, i);
    }

    /**
     * Candidates whose dot products {@link #dotRows} and {@link #dotRowsCross} reduce together. (Not dotRowsSq8: eight
     * rows' byte-to-float conversions and the merged reduction pass C2's node budget for one method, and the
     * reduction's vectors are then boxed, 32 bytes a candidate.)
     */
    private static final int GROUP = DeterministicMath.GROUP;
    /** The lanes of one group's results: all of an 8-lane vector, half of a 16-lane one. */
    private static final VectorMask<Float> GROUP_LANES = VectorMask.fromLong(FLOATS, (1L << GROUP) - 1);

    /** out[i..i+GROUP) = scale · sums + shift, rounded as the scalar {@code scale * dot + shift} is (no FMA). */
    private static void storeGroup(FloatVector sums, float scale, float shift, float[] out, int i) {
        FloatVector logits = sums.mul(scale).add(shift);
        if (FLOAT_LANES == GROUP) {
            logits.intoArray(out, i);
        } else {
            logits.intoArray(out, i, GROUP_LANES);
        }
    }

    /**
     * Loads one float of every 64-byte line of rows[start..end) and leaves their sum in out[start], which the caller
     * overwrites: the loads must be consumed to stay, and a loop this small keeps many cache misses in flight.
     *
     * <p>A row's lines are loaded by straight-line code, up to four a pass over the rows ({@link #touchLines}): any
     * loop over a row's lines, even of a constant count, kept a third as many misses in flight as the same loads
     * written out (float rows of 256 bytes from DRAM: 45 against 15 ns a row), and each instruction more a row keeps
     * fewer (four loads of a one-line row: 13 against 5.7 ns).
     */
    private static void touchRows(MemorySegment vec, long rowBytes, int[] rows, int start, int end, float[] out) {
        long lines = (rowBytes + 63) >>> 6;
        float touched = 0;
        for (long first = 0; first < lines; first += 4) {
            touched += touchLines(vec, rowBytes, rows, start, end, 64 * first, (int) Math.min(4, lines - first));
        }
        out[start] = touched;
    }

    /** Loads {@code lines} (1 to 4) floats 64 bytes apart from {@code at} bytes into each of rows[start..end); returns their sum. */
    private static float touchLines(MemorySegment vec, long rowBytes, int[] rows, int start, int end, long at, int lines) {
        float sum = 0;
        switch (lines) {
            case 1 -> {
                for (int i = start; i < end; i++) {
                    sum += vec.get(Layouts.F32, rows[i] * rowBytes + at);
                }
            }
            case 2 -> {
                for (int i = start; i < end; i++) {
                    long b = rows[i] * rowBytes + at; // rowBytes is a long: no int overflow past 2 GB
                    sum += vec.get(Layouts.F32, b) + vec.get(Layouts.F32, b + 64);
                }
            }
            case 3 -> {
                for (int i = start; i < end; i++) {
                    long b = rows[i] * rowBytes + at;
                    sum += vec.get(Layouts.F32, b) + vec.get(Layouts.F32, b + 64) + vec.get(Layouts.F32, b + 128);
                }
            }
            default -> {
                for (int i = start; i < end; i++) {
                    long b = rows[i] * rowBytes + at;
                    sum += vec.get(Layouts.F32, b) + vec.get(Layouts.F32, b + 64)
                            + vec.get(Layouts.F32, b + 128) + vec.get(Layouts.F32, b + 192);
                }
            }
        }
        return sum;
    }

    /** The bytes one float vector's lanes convert from: 16 bytes (128 bits) for 16 float lanes, 8 for 8. */
    private static final VectorSpecies<Byte> BYTES_OF_FLOATS = // no 32-bit shape exists: narrow vectors never get here,
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, FLOAT_LANES * 8))); // the constructor refuses them

    /**
     * Rows a chunk of {@link #dotRowsSq8} touches before it computes them: 16 KB of 64-byte rows, which stay in L1.
     */
    private static final int SQ8_CHUNK = 256;

    @Override
    public void dotRowsSq8(MemorySegment codes, int stride, int[] rows, int count, float[] u, float scale, float shift, float[] out) {
        // A row's arithmetic (stride/lanes sign-extending conversions and FMAs, one reduction) is some 40 instructions,
        // so the out-of-order window holds only a few rows' cache misses at a time. Touching a chunk's rows first
        // (touchRows) keeps many misses in flight (Java has no prefetch instruction); the arithmetic then reads L1.
        for (int start = 0; start < count; start += SQ8_CHUNK) {
            int end = Math.min(count, start + SQ8_CHUNK);
            touchRows(codes, stride, rows, start, end, out);
            if (stride == LINE) { // the same arithmetic, two rows a step with a constant length
                int i = start;
                for (; i + 2 <= end; i += 2) {
                    rowPairSq8(codes, (long) rows[i] * LINE, (long) rows[i + 1] * LINE, u, scale, shift, out, i);
                }
                if (i < end) {
                    out[i] = scale * rowDotSq8(codes, (long) rows[i] * LINE, LINE, u) + shift;
                }
            } else {
                for (int i = start; i < end; i++) {
                    out[i] = scale * rowDotSq8(codes, (long) rows[i] * stride, stride, u) + shift;
                }
            }
        }
    }

    /**
     * ⟨u, the {@code length} signed bytes at {@code base}⟩: each 16 bytes (8 on 256-bit vectors) sign-extended to a
     * float vector and multiplied into one FMA chain, then {@link DeterministicMath#sum}. It returns a float, so
     * nothing is boxed if C2 declines to inline it.
     */
    private static float rowDotSq8(MemorySegment codes, long base, int length, float[] u) {
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int k = 0; k < length; k += FLOAT_LANES) {
            FloatVector x = (FloatVector) ByteVector.fromMemorySegment(BYTES_OF_FLOATS, codes, base + k, LE)
                    .convertShape(VectorOperators.B2F, FLOATS, 0);
            acc = x.fma(FloatVector.fromArray(FLOATS, u, k), acc);
        }
        return DeterministicMath.sum(acc);
    }

    /**
     * out[i] and out[i + 1]: {@link #rowDotSq8} of the 64-byte rows at {@code a} and {@code b}, the same bits, their two
     * lane sums in one tree ({@link DeterministicMath#sumsOfTwo}). A row's four byte-to-float conversions and its lane
     * sum's four permutes are all shuffles (on Intel's cores, one port for 512-bit vectors); the shared tree halves the
     * permutes. Vectors stay inside.
     */
    private static void rowPairSq8(MemorySegment codes, long a, long b, float[] u, float scale, float shift, float[] out,
                                   int i) {
        FloatVector accA = FloatVector.zero(FLOATS), accB = accA;
        for (int k = 0; k < LINE; k += FLOAT_LANES) {
            FloatVector uk = FloatVector.fromArray(FLOATS, u, k);
            FloatVector xa = (FloatVector) ByteVector.fromMemorySegment(BYTES_OF_FLOATS, codes, a + k, LE)
                    .convertShape(VectorOperators.B2F, FLOATS, 0);
            FloatVector xb = (FloatVector) ByteVector.fromMemorySegment(BYTES_OF_FLOATS, codes, b + k, LE)
                    .convertShape(VectorOperators.B2F, FLOATS, 0);
            accA = xa.fma(uk, accA);
            accB = xb.fma(uk, accB);
        }
        FloatVector sums = DeterministicMath.sumsOfTwo(accA, accB);
        out[i] = scale * sums.lane(0) + shift;
        out[i + 1] = scale * sums.lane(FLOAT_LANES / 2) + shift;
    }

    /**
     * An 8-bit row of dv = 64 (49…64): one cache line, the layout's design point, scanned by a loop of this constant
     * length. C2 unrolls that into straight-line code; a loop to a variable bound gets pre-, main and post-loops and
     * their limit arithmetic, which on a four-vector row cost more than the row's arithmetic (a row from L1 8.0 against
     * 4.4 ns in a harness on the Zen 5 VM).
     */
    private static final int LINE = 64;

    /** Lane groups (16 queries on 512-bit vectors, 8 on 256-bit) that {@link #attendRows} scores together. */
    private static final int TILE = 4;
    /**
     * Floats between two keys' scores of a lane group: {@code scores[m][TILE][lanes]}. A constant, so that C2 removes
     * the bounds checks of the loops over keys (it does so for constant strides).
     */
    private static final int SCORE_STEP = TILE * FLOAT_LANES;

    @Override
    public void attendRows(float[] queriesT, int count, AttentionKeys keys, float[] scores, float[] out) {
        // Lanes run over queries: every key's score is its own chain of dh FMAs, and the softmax over keys is
        // lane-wise (no horizontal reduction). A "lane group" is the queries of one vector: 16 on 512-bit vectors,
        // 8 on 256-bit ones, a quarter or an eighth of a 64-query block. Four groups are scored together, four keys a
        // step: 16 independent chains on four query loads and four key broadcasts, so loads no longer outnumber FMAs.
        // The last step may run past count: the layout pads the last 64-query block with zero queries, which score
        // harmlessly in their own lanes, and nothing past count is written.
        int groups = (count + FLOAT_LANES - 1) / FLOAT_LANES;
        for (int g = 0; g < groups; g += TILE) {
            attendFourGroups(queriesT, g, count, keys, scores, out);
        }
    }

    @Override
    public void attendRowsCross(float[] queriesT, int count, AttentionKeys keys, float[] scores, float[] out, float[] cross) {
        // As attendRows, with each head's softmax weights kept in scores (they are the exponentials the readout
        // needed anyway) and then reused for the cross rows: Σ_m weight·U_j[m], n·dx FMAs a query and head.
        int groups = (count + FLOAT_LANES - 1) / FLOAT_LANES;
        for (int g = 0; g < groups; g += TILE) {
            attendFourGroupsCross(queriesT, g, count, keys, scores, out, cross);
        }
    }

    /** Where lane group g's component 0 sits in the {@code QueryBlocks} layout; component c is {@code c·QUERY_BLOCK} further. */
    private static int groupBase(int g, int d) {
        int first = g * FLOAT_LANES;
        return first / QUERY_BLOCK * d * QUERY_BLOCK + first % QUERY_BLOCK;
    }

    /** Lane groups g..g+3: each head's scores ({@link #scoreHead}), then its readout in each group. */
    private static void attendFourGroups(float[] queriesT, int g, int count, AttentionKeys keys, float[] scores, float[] out) {
        int lanes = FLOAT_LANES;
        // The four groups lie side by side in one 64-query block (g is a multiple of 4): group b's component c is at
        // q0 + c·64 + b·lanes, constant displacements from one index.
        int q0 = groupBase(g, keys.d);
        for (int group = g; group < g + TILE; group++) {
            clearGroup(group, count, out);
        }
        for (int j = 0; j < keys.heads; j++) {
            scoreHead(queriesT, q0, keys, j, scores);
            addHeadReadout(queriesT, q0, keys, j, scores, 0, g, count, out);
            addHeadReadout(queriesT, q0 + lanes, keys, j, scores, lanes, g + 1, count, out);
            addHeadReadout(queriesT, q0 + 2 * lanes, keys, j, scores, 2 * lanes, g + 2, count, out);
            addHeadReadout(queriesT, q0 + 3 * lanes, keys, j, scores, 3 * lanes, g + 3, count, out);
        }
    }

    /**
     * Head j's scores of the four lane groups at {@code q0}: {@code scores[m][4][lanes]} (group b of key m at
     * {@code (m·4 + b)·lanes}); every lane's score is a chain of dh FMAs from zero, as in the scalar twin's order of
     * components. Four keys a step: 16 independent chains on four query loads and four key broadcasts.
     */
    private static void scoreHead(float[] queriesT, int q0, AttentionKeys keys, int j, float[] scores) {
        int n = keys.n, d = keys.d, dh = keys.headDim, lanes = FLOAT_LANES, tile = SCORE_STEP;
        float[] k = keys.keys;
        int head = j * dh;
        int m = 0;
        for (; m + 4 <= n; m += 4) {
            FloatVector s00 = FloatVector.zero(FLOATS), s01 = s00, s02 = s00, s03 = s00;
            FloatVector s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            FloatVector s20 = s00, s21 = s00, s22 = s00, s23 = s00;
            FloatVector s30 = s00, s31 = s00, s32 = s00, s33 = s00;
            int key = m * d + head;
            for (int t = 0; t < dh; t++) {
                int c = q0 + (head + t) * QUERY_BLOCK;
                FloatVector k0 = FloatVector.broadcast(FLOATS, k[key + t]);
                FloatVector k1 = FloatVector.broadcast(FLOATS, k[key + d + t]);
                FloatVector k2 = FloatVector.broadcast(FLOATS, k[key + 2 * d + t]);
                FloatVector k3 = FloatVector.broadcast(FLOATS, k[key + 3 * d + t]);
                FloatVector a = FloatVector.fromArray(FLOATS, queriesT, c);
                s00 = a.fma(k0, s00);
                s01 = a.fma(k1, s01);
                s02 = a.fma(k2, s02);
                s03 = a.fma(k3, s03);
                a = FloatVector.fromArray(FLOATS, queriesT, c + lanes);
                s10 = a.fma(k0, s10);
                s11 = a.fma(k1, s11);
                s12 = a.fma(k2, s12);
                s13 = a.fma(k3, s13);
                a = FloatVector.fromArray(FLOATS, queriesT, c + 2 * lanes);
                s20 = a.fma(k0, s20);
                s21 = a.fma(k1, s21);
                s22 = a.fma(k2, s22);
                s23 = a.fma(k3, s23);
                a = FloatVector.fromArray(FLOATS, queriesT, c + 3 * lanes);
                s30 = a.fma(k0, s30);
                s31 = a.fma(k1, s31);
                s32 = a.fma(k2, s32);
                s33 = a.fma(k3, s33);
            }
            int at = m * tile;
            s00.intoArray(scores, at);
            s10.intoArray(scores, at + lanes);
            s20.intoArray(scores, at + 2 * lanes);
            s30.intoArray(scores, at + 3 * lanes);
            s01.intoArray(scores, at + tile);
            s11.intoArray(scores, at + tile + lanes);
            s21.intoArray(scores, at + tile + 2 * lanes);
            s31.intoArray(scores, at + tile + 3 * lanes);
            s02.intoArray(scores, at + 2 * tile);
            s12.intoArray(scores, at + 2 * tile + lanes);
            s22.intoArray(scores, at + 2 * tile + 2 * lanes);
            s32.intoArray(scores, at + 2 * tile + 3 * lanes);
            s03.intoArray(scores, at + 3 * tile);
            s13.intoArray(scores, at + 3 * tile + lanes);
            s23.intoArray(scores, at + 3 * tile + 2 * lanes);
            s33.intoArray(scores, at + 3 * tile + 3 * lanes);
        }
        for (; m < n; m++) { // remaining keys, one at a time
            FloatVector s0 = FloatVector.zero(FLOATS), s1 = s0, s2 = s0, s3 = s0;
            int key = m * d + head;
            for (int t = 0; t < dh; t++) {
                int c = q0 + (head + t) * QUERY_BLOCK;
                FloatVector kt = FloatVector.broadcast(FLOATS, k[key + t]);
                s0 = FloatVector.fromArray(FLOATS, queriesT, c).fma(kt, s0);
                s1 = FloatVector.fromArray(FLOATS, queriesT, c + lanes).fma(kt, s1);
                s2 = FloatVector.fromArray(FLOATS, queriesT, c + 2 * lanes).fma(kt, s2);
                s3 = FloatVector.fromArray(FLOATS, queriesT, c + 3 * lanes).fma(kt, s3);
            }
            int at = m * tile;
            s0.intoArray(scores, at);
            s1.intoArray(scores, at + lanes);
            s2.intoArray(scores, at + 2 * lanes);
            s3.intoArray(scores, at + 3 * lanes);
        }
    }

    /**
     * {@link #attendFourGroups} with cross rows: after each head's readout (which leaves the head's softmax weights and
     * 1/Σweights in {@code scores}), {@link #addHeadCross} adds the head's share of the four groups' cross rows to a
     * tile, which goes out as rows once every head is in. A method of its own: adding this to the readout path
     * measured it twice as slow (C2 compiled the larger loop worse).
     */
    private static void attendFourGroupsCross(float[] queriesT, int g, int count, AttentionKeys keys, float[] scores,
                                              float[] out, float[] cross) {
        int q0 = groupBase(g, keys.d), lanes = FLOAT_LANES;
        for (int group = g; group < g + TILE; group++) {
            clearGroup(group, count, out);
        }
        java.util.Arrays.fill(scores, crossTileAt(keys), crossTileAt(keys) + QUERY_BLOCK * keys.crossDim, 0f);
        for (int j = 0; j < keys.heads; j++) {
            scoreHead(queriesT, q0, keys, j, scores);
            addHeadReadout(queriesT, q0, keys, j, scores, 0, g, count, out);
            addHeadReadout(queriesT, q0 + lanes, keys, j, scores, lanes, g + 1, count, out);
            addHeadReadout(queriesT, q0 + 2 * lanes, keys, j, scores, 2 * lanes, g + 2, count, out);
            addHeadReadout(queriesT, q0 + 3 * lanes, keys, j, scores, 3 * lanes, g + 3, count, out);
            if (keys.n > 0) {
                addHeadCross(keys, j, scores);
            }
        }
        crossRowsOut(keys, scores, g, count, cross);
    }

    /**
     * Where the scratch past the scores sits in {@code scores}: each group's 1/Σweights of the current head,
     * {@code [4][lanes]}, then (the cross path) the tile of the four groups' cross sums
     * {@code [TILE·lanes = 4 groups][dx][lanes]}, component-major with lanes over queries.
     * {@link KernelSupport#scoresLength} counts both.
     */
    private static int crossInversesAt(AttentionKeys keys) {
        return SCORES_PER_KEY * keys.capacity();
    }

    private static int crossTileAt(AttentionKeys keys) {
        return crossInversesAt(keys) + QUERY_BLOCK;
    }

    /**
     * Head j's part of the four groups' cross rows: {@code tile[b][c] += (Σ_m w_m·U_j[m][c]) / Σw}, from the weights
     * {@link #addHeadReadout} left in {@code scores}. Two components at a time: eight accumulators, four weight loads
     * and two broadcasts a key, which fits AVX2's sixteen registers.
     */
    private static void addHeadCross(AttentionKeys keys, int j, float[] scores) {
        int n = keys.n, dx = keys.crossDim, heads = keys.heads, lanes = FLOAT_LANES, step = SCORE_STEP;
        float[] u = keys.crossU;
        int tileAt = crossTileAt(keys), inverses = crossInversesAt(keys);
        FloatVector inv0 = FloatVector.fromArray(FLOATS, scores, inverses);
        FloatVector inv1 = FloatVector.fromArray(FLOATS, scores, inverses + lanes);
        FloatVector inv2 = FloatVector.fromArray(FLOATS, scores, inverses + 2 * lanes);
        FloatVector inv3 = FloatVector.fromArray(FLOATS, scores, inverses + 3 * lanes);
        for (int c = 0; c < dx; c += 2) {
            int c1 = Math.min(c + 1, dx - 1); // odd dx: the last pair computes its one component twice
            FloatVector a00 = FloatVector.zero(FLOATS), a10 = a00, a20 = a00, a30 = a00;
            FloatVector a01 = a00, a11 = a00, a21 = a00, a31 = a00;
            for (int m = 0; m < n; m++) {
                int at = m * step, row = (m * heads + j) * dx;
                FloatVector u0 = FloatVector.broadcast(FLOATS, u[row + c]);
                FloatVector u1 = FloatVector.broadcast(FLOATS, u[row + c1]);
                FloatVector w = FloatVector.fromArray(FLOATS, scores, at);
                a00 = w.fma(u0, a00);
                a01 = w.fma(u1, a01);
                w = FloatVector.fromArray(FLOATS, scores, at + lanes);
                a10 = w.fma(u0, a10);
                a11 = w.fma(u1, a11);
                w = FloatVector.fromArray(FLOATS, scores, at + 2 * lanes);
                a20 = w.fma(u0, a20);
                a21 = w.fma(u1, a21);
                w = FloatVector.fromArray(FLOATS, scores, at + 3 * lanes);
                a30 = w.fma(u0, a30);
                a31 = w.fma(u1, a31);
            }
            // tile[b][c] at tileAt + (b·dx + c)·lanes
            int t0 = tileAt + c * lanes, t1 = tileAt + c1 * lanes, group = dx * lanes;
            a00.fma(inv0, FloatVector.fromArray(FLOATS, scores, t0)).intoArray(scores, t0);
            a10.fma(inv1, FloatVector.fromArray(FLOATS, scores, t0 + group)).intoArray(scores, t0 + group);
            a20.fma(inv2, FloatVector.fromArray(FLOATS, scores, t0 + 2 * group)).intoArray(scores, t0 + 2 * group);
            a30.fma(inv3, FloatVector.fromArray(FLOATS, scores, t0 + 3 * group)).intoArray(scores, t0 + 3 * group);
            if (c1 != c) {
                a01.fma(inv0, FloatVector.fromArray(FLOATS, scores, t1)).intoArray(scores, t1);
                a11.fma(inv1, FloatVector.fromArray(FLOATS, scores, t1 + group)).intoArray(scores, t1 + group);
                a21.fma(inv2, FloatVector.fromArray(FLOATS, scores, t1 + 2 * group)).intoArray(scores, t1 + 2 * group);
                a31.fma(inv3, FloatVector.fromArray(FLOATS, scores, t1 + 3 * group)).intoArray(scores, t1 + 3 * group);
            }
        }
    }

    /** The four groups' cross tile, component-major, into rows {@code cross[i][dx]} for the queries below count. */
    private static void crossRowsOut(AttentionKeys keys, float[] scores, int g, int count, float[] cross) {
        int dx = keys.crossDim, lanes = FLOAT_LANES, tileAt = crossTileAt(keys);
        int first = g * lanes, end = Math.min(count, first + TILE * lanes);
        for (int i = first; i < end; i++) {
            int b = (i - first) / lanes, lane = (i - first) % lanes;
            int from = tileAt + b * dx * lanes + lane, row = i * dx;
            for (int c = 0; c < dx; c++) {
                cross[row + c] = scores[from + c * lanes];
            }
        }
    }

    /** Zeroes lane group g's outputs (those below {@code count}): the heads' readouts are added onto them. */
    private static void clearGroup(int g, int count, float[] out) {
        for (int i = g * FLOAT_LANES, end = Math.min(count, i + FLOAT_LANES); i < end; i++) {
            out[i] = 0f;
        }
    }

    /**
     * Adds head j's readout {@code Σ_m 2^s_m·u_j[m] / Σ 2^s} to lane group g's outputs, from the group's scores at
     * {@code scores[first + m·SCORE_STEP]}; the null key (scored here) joins the sum. The softmax subtracts the max
     * only when the scores could leave 2^s's range: a group whose queries all have {@code ‖q_j‖² ≤
     * keys.unshiftedNormSq[j]} has every score within ±64 (Cauchy–Schwarz, {@link AttentionKeys}), and skips both the
     * pass that finds the max and the exponential's clamp, a chain of dependent compares that dominated the softmax.
     *
     * <p>Only arrays and numbers cross this call: a vector passed to or returned from a method that is not inlined is
     * boxed (on the heap, tens of times slower). Both forms stay in this one method, which is too large for C2 to
     * inline into the scoring loops: split in two smaller ones, C2 inlined them into the loops in most JVMs and
     * compiled the build slower (LutBuildBenchmark, docs/benchmarks.md). Only the exponential
     * ({@link DeterministicMath#exp2Rows}) is a call of its own.
     *
     * <p>It also leaves the weights 2^s in {@code scores} in place of the scores and 1/Σ at
     * {@code scores[crossInversesAt + first ..+lanes)}, for the cross rows ({@link #addHeadCross}). The stores are
     * unconditional: the readout path measured no slower with them (LutBuildBenchmark), and they spare a branch.
     */
    private static void addHeadReadout(float[] queriesT, int q, AttentionKeys keys, int j, float[] scores, int first,
                                       int g, int count, float[] out) {
        int n = keys.n, dh = keys.headDim, head = j * dh;
        float[] u = keys.u, nullK = keys.nullK;
        if (nullK == null && n == 0) {
            return; // no keys and no null key: the head adds nothing
        }
        FloatVector nullScore = FloatVector.zero(FLOATS);
        FloatVector normSq = FloatVector.zero(FLOATS);
        for (int t = 0; t < dh; t++) {
            FloatVector a = FloatVector.fromArray(FLOATS, queriesT, q + (head + t) * QUERY_BLOCK);
            normSq = a.fma(a, normSq);
            if (nullK != null) {
                nullScore = a.fma(FloatVector.broadcast(FLOATS, nullK[head + t]), nullScore);
            }
        }
        FloatVector sum = FloatVector.zero(FLOATS);
        FloatVector weighted = FloatVector.zero(FLOATS);
        int uRow = j * keys.stride;
        // The null key's weight is formed in the group's 1/Σ row, which is written last.
        int inverse = crossInversesAt(keys) + first;
        if (normSq.compare(VectorOperators.LE, keys.unshiftedNormSq[j]).allTrue()) { // false for a NaN on either side
            if (nullK != null) {
                nullScore.intoArray(scores, inverse);
                DeterministicMath.exp2InRangeRows(scores, inverse, FLOAT_LANES, 1);
                sum = FloatVector.fromArray(FLOATS, scores, inverse);
            }
            DeterministicMath.exp2InRangeRows(scores, first, SCORE_STEP, n);
        } else {
            // The largest score by compare and blend (lanewise MAX keeps Java's NaN and signed-zero rules: six
            // instructions on x86). A NaN score is skipped here but still makes the sum NaN; ±0 maxima give the same
            // s − max. Four running maxima: one alone is a chain of dependent compares and blends, some 5 cycles a key.
            FloatVector max = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY), max1 = max, max2 = max, max3 = max;
            int m = 0;
            for (; m + 4 <= n; m += 4) {
                FloatVector s0 = FloatVector.fromArray(FLOATS, scores, first + m * SCORE_STEP);
                FloatVector s1 = FloatVector.fromArray(FLOATS, scores, first + (m + 1) * SCORE_STEP);
                FloatVector s2 = FloatVector.fromArray(FLOATS, scores, first + (m + 2) * SCORE_STEP);
                FloatVector s3 = FloatVector.fromArray(FLOATS, scores, first + (m + 3) * SCORE_STEP);
                max = max.blend(s0, max.compare(VectorOperators.LT, s0));
                max1 = max1.blend(s1, max1.compare(VectorOperators.LT, s1));
                max2 = max2.blend(s2, max2.compare(VectorOperators.LT, s2));
                max3 = max3.blend(s3, max3.compare(VectorOperators.LT, s3));
            }
            for (; m < n; m++) {
                FloatVector s = FloatVector.fromArray(FLOATS, scores, first + m * SCORE_STEP);
                max = max.blend(s, max.compare(VectorOperators.LT, s));
            }
            max = max.blend(max1, max.compare(VectorOperators.LT, max1));
            max2 = max2.blend(max3, max2.compare(VectorOperators.LT, max3));
            max = max.blend(max2, max.compare(VectorOperators.LT, max2));
            if (nullK != null) {
                max = max.blend(nullScore, max.compare(VectorOperators.LT, nullScore));
                nullScore.sub(max).intoArray(scores, inverse);
                DeterministicMath.exp2Rows(scores, inverse, FLOAT_LANES, 1);
                sum = FloatVector.fromArray(FLOATS, scores, inverse);
            }
            for (m = 0; m < n; m++) {
                int at = first + m * SCORE_STEP;
                FloatVector.fromArray(FLOATS, scores, at).sub(max).intoArray(scores, at);
            }
            DeterministicMath.exp2Rows(scores, first, SCORE_STEP, n);
        }
        for (int m = 0; m < n; m++) { // the weights, now in place: their sum and the readout, in key order
            FloatVector e = FloatVector.fromArray(FLOATS, scores, first + m * SCORE_STEP);
            sum = sum.add(e);
            weighted = e.fma(FloatVector.broadcast(FLOATS, u[uRow + m]), weighted);
        }
        FloatVector.broadcast(FLOATS, 1f).div(sum).intoArray(scores, inverse);
        FloatVector readout = weighted.div(sum);
        int i = g * FLOAT_LANES;
        if (i + FLOAT_LANES <= count) {
            FloatVector.fromArray(FLOATS, out, i).add(readout).intoArray(out, i);
        } else if (i < count) {
            VectorMask<Float> live = FLOATS.indexInRange(i, count);
            FloatVector.fromArray(FLOATS, out, i, live).add(readout).intoArray(out, i, live);
        }
    }

    @Override
    public void attendValues(float[] queries, int count, AttentionKeys keys, float[] values, float[] scores, float[] out) {
        int n = keys.n, d = keys.d, dh = keys.headDim, stride = keys.stride;
        // Head widths are multiples of the lane count only for some models (dh = 16 fills one 512-bit vector):
        // vectorize the value sum over dh when it divides, else over keys alone.
        boolean valuesByLanes = dh % FLOAT_LANES == 0;
        if (valuesByLanes && count >= FLOAT_LANES / 2 && byQueriesScratch(keys) <= scores.length) {
            attendValuesByQueries(queries, count, keys, values, scores, out);
            return;
        }
        if (valuesByLanes && keys.heads * (stride + 1) <= scores.length) {
            attendValuesHeadsTogether(queries, count, keys, values, scores, out);
            return;
        }
        for (int i = 0; i < count; i++) {
            int q = i * d;
            for (int j = 0; j < keys.heads; j++) {
                int head = j * dh;
                java.util.Arrays.fill(out, q + head, q + head + dh, 0f);
                float inverse = softmaxHead(queries, q, keys, j, scores, 0);
                if (inverse == NO_KEYS) {
                    continue;
                }
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
     * Floats of scratch {@link #attendValuesByQueries} needs: a head's weights, the queries' tile, the inverses, the
     * maxima.
     */
    private static int byQueriesScratch(AttentionKeys keys) {
        return (keys.stride + keys.d + keys.heads + 1) * FLOAT_LANES;
    }

    /**
     * {@link #attendValues} for many queries (the sequence block's self-attention, the DIN teacher), lanes over
     * queries as in {@link #attendRows}: a group of 16 (8) queries is transposed once into a tile, each head's scores
     * are chains of dh FMAs on a query-component load and a key broadcast (eight keys a step), and the softmax over
     * keys is lane-wise, with no horizontal reduction and no per-query pass. The value sums then run with lanes over
     * the head's components, four queries at a time, from the weights' broadcasts; each output is its sum of
     * e·V times 1/Σe. Scratch layout in {@code scores}: the head's weights {@code [n][lanes]}, then the tile
     * {@code [d][lanes]}, then 1/Σe {@code [h][lanes]} ({@link #NO_KEYS} for a query whose head has no finite score),
     * then the head's maxima {@code [lanes]}.
     *
     * <p>Each step of a head (scores, max, exponential, 1/Σ, value sums) is a small method, and only arrays and numbers
     * pass between them. In one method, C2 compiled the softmax's running maxima as heap boxes in some JVMs (22 to
     * 218 KB a request; the box is decided by the whole method's compilation, not by the loop's own shape), as it did
     * the uint8 scan's vectors when the scan was inlined into the request path (docs/benchmarks.md, "Allocation").
     * The steps' own compilations are what keeps them apart: the scores, the max and the value sums are longer than
     * the 325 bytecodes up to which C2 inlines a hot callee ({@code StandaloneStepsTest}). The max at 281, inlined
     * here, ran as the Vector API's allocating Java fallbacks in some JVMs (222 KB a request).
     */
    private static void attendValuesByQueries(float[] queries, int count, AttentionKeys keys, float[] values,
                                              float[] scores, float[] out) {
        int n = keys.n, d = keys.d, dh = keys.headDim;
        int tile = keys.stride * FLOAT_LANES, inverses = tile + d * FLOAT_LANES, maxima = inverses + keys.heads * FLOAT_LANES;
        boolean nullKey = keys.nullK != null;
        for (int q0 = 0; q0 < count; q0 += FLOAT_LANES) {
            int live = Math.min(FLOAT_LANES, count - q0);
            for (int i = 0; i < live; i++) {
                int row = (q0 + i) * d;
                for (int c = 0; c < d; c++) {
                    scores[tile + c * FLOAT_LANES + i] = queries[row + c];
                }
            }
            for (int i = live; i < FLOAT_LANES; i++) {
                for (int c = 0; c < d; c++) {
                    scores[tile + c * FLOAT_LANES + i] = 0f;
                }
            }
            for (int j = 0; j < keys.heads; j++) {
                int inverse = inverses + j * FLOAT_LANES;
                groupScores(keys, j * dh, scores, tile);
                groupMax(keys, j * dh, scores, tile, inverse, maxima);
                DeterministicMath.exp2Rows(scores, 0, FLOAT_LANES, n, maxima);
                if (nullKey) {
                    DeterministicMath.exp2Rows(scores, inverse, FLOAT_LANES, 1, maxima);
                }
                groupInverse(n, nullKey, scores, inverse, maxima);
                groupValues(values, n, d, j * dh, dh, scores, inverse, out, q0, live);
            }
        }
    }

    /** A query group's scores for the head at component {@code head}, query lanes, into {@code scores[m·lanes + i]}. */
    private static void groupScores(AttentionKeys keys, int head, float[] scores, int tile) {
        int n = keys.n, d = keys.d, dh = keys.headDim;
        float[] k = keys.keys;
        int m = 0;
        // Eight keys a step: eight independent chains of dh FMAs share each query-component load.
        for (; m + 8 <= n; m += 8) {
            FloatVector s0 = FloatVector.zero(FLOATS), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
            for (int t = 0; t < dh; t++) {
                FloatVector qt = FloatVector.fromArray(FLOATS, scores, tile + (head + t) * FLOAT_LANES);
                int at = m * d + head + t;
                s0 = qt.fma(FloatVector.broadcast(FLOATS, k[at]), s0);
                s1 = qt.fma(FloatVector.broadcast(FLOATS, k[at + d]), s1);
                s2 = qt.fma(FloatVector.broadcast(FLOATS, k[at + 2 * d]), s2);
                s3 = qt.fma(FloatVector.broadcast(FLOATS, k[at + 3 * d]), s3);
                s4 = qt.fma(FloatVector.broadcast(FLOATS, k[at + 4 * d]), s4);
                s5 = qt.fma(FloatVector.broadcast(FLOATS, k[at + 5 * d]), s5);
                s6 = qt.fma(FloatVector.broadcast(FLOATS, k[at + 6 * d]), s6);
                s7 = qt.fma(FloatVector.broadcast(FLOATS, k[at + 7 * d]), s7);
            }
            int w = m * FLOAT_LANES;
            s0.intoArray(scores, w);
            s1.intoArray(scores, w + FLOAT_LANES);
            s2.intoArray(scores, w + 2 * FLOAT_LANES);
            s3.intoArray(scores, w + 3 * FLOAT_LANES);
            s4.intoArray(scores, w + 4 * FLOAT_LANES);
            s5.intoArray(scores, w + 5 * FLOAT_LANES);
            s6.intoArray(scores, w + 6 * FLOAT_LANES);
            s7.intoArray(scores, w + 7 * FLOAT_LANES);
        }
        for (; m < n; m++) {
            FloatVector s = FloatVector.zero(FLOATS);
            for (int t = 0; t < dh; t++) {
                s = FloatVector.fromArray(FLOATS, scores, tile + (head + t) * FLOAT_LANES)
                        .fma(FloatVector.broadcast(FLOATS, k[m * d + head + t]), s);
            }
            s.intoArray(scores, m * FLOAT_LANES);
        }
    }

    /**
     * The group's softmax shift: each query's max score (the null key's included) into {@code scores[maxima ..]}, and
     * the null key's score into {@code scores[inverse ..]} (its weight has no row of its own).
     */
    private static void groupMax(AttentionKeys keys, int head, float[] scores, int tile, int inverse, int maxima) {
        int n = keys.n, dh = keys.headDim;
        // Compare and blend, four running maxima, as in addHeadReadout: a NaN score is skipped here but still makes its
        // query's sum NaN; ±0 maxima give the same s − max.
        FloatVector max = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY), max1 = max, max2 = max, max3 = max;
        int m = 0;
        for (; m + 4 <= n; m += 4) {
            FloatVector s0 = FloatVector.fromArray(FLOATS, scores, m * FLOAT_LANES);
            FloatVector s1 = FloatVector.fromArray(FLOATS, scores, (m + 1) * FLOAT_LANES);
            FloatVector s2 = FloatVector.fromArray(FLOATS, scores, (m + 2) * FLOAT_LANES);
            FloatVector s3 = FloatVector.fromArray(FLOATS, scores, (m + 3) * FLOAT_LANES);
            max = max.blend(s0, max.compare(VectorOperators.LT, s0));
            max1 = max1.blend(s1, max1.compare(VectorOperators.LT, s1));
            max2 = max2.blend(s2, max2.compare(VectorOperators.LT, s2));
            max3 = max3.blend(s3, max3.compare(VectorOperators.LT, s3));
        }
        for (; m < n; m++) {
            FloatVector s = FloatVector.fromArray(FLOATS, scores, m * FLOAT_LANES);
            max = max.blend(s, max.compare(VectorOperators.LT, s));
        }
        max = max.blend(max1, max.compare(VectorOperators.LT, max1));
        max2 = max2.blend(max3, max2.compare(VectorOperators.LT, max3));
        max = max.blend(max2, max.compare(VectorOperators.LT, max2));
        if (keys.nullK != null) {
            FloatVector nullScore = FloatVector.zero(FLOATS);
            for (int t = 0; t < dh; t++) {
                nullScore = FloatVector.fromArray(FLOATS, scores, tile + (head + t) * FLOAT_LANES)
                        .fma(FloatVector.broadcast(FLOATS, keys.nullK[head + t]), nullScore);
            }
            max = max.blend(nullScore, max.compare(VectorOperators.LT, nullScore));
            nullScore.intoArray(scores, inverse);
        }
        max.intoArray(scores, maxima);
    }

    /**
     * 1/Σ of the group's weights (the null key's, at {@code scores[inverse ..]}, first) into {@code scores[inverse ..]};
     * {@link #NO_KEYS} for a query with no finite score.
     */
    private static void groupInverse(int n, boolean nullKey, float[] scores, int inverse, int maxima) {
        FloatVector sum = nullKey ? FloatVector.fromArray(FLOATS, scores, inverse) : FloatVector.zero(FLOATS);
        for (int m = 0; m < n; m++) {
            sum = sum.add(FloatVector.fromArray(FLOATS, scores, m * FLOAT_LANES));
        }
        FloatVector max = FloatVector.fromArray(FLOATS, scores, maxima);
        FloatVector.broadcast(FLOATS, 1f).div(sum)
                .blend(NO_KEYS, max.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY))
                .intoArray(scores, inverse);
    }

    /**
     * The value sums of the head at component {@code head} for the group's {@code live} queries from their weights
     * (lanes over the head's components; four queries and two vectors a step: eight chains in key order on two value
     * loads and four weight broadcasts), scaled by 1/Σ into {@code out[(q0 + i)·d + head ..]}; zeros for a query whose
     * head has no finite score.
     */
    private static void groupValues(float[] values, int n, int d, int head, int dh, float[] scores, int inverse,
                                    float[] out, int q0, int live) {
        int i = 0;
        for (; i + 4 <= live; i += 4) {
            int t = 0;
            for (; t + 2 * FLOAT_LANES <= dh; t += 2 * FLOAT_LANES) {
                FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                for (int m = 0; m < n; m++) {
                    int row = m * d + head + t, w = m * FLOAT_LANES + i;
                    FloatVector v = FloatVector.fromArray(FLOATS, values, row);
                    FloatVector v1 = FloatVector.fromArray(FLOATS, values, row + FLOAT_LANES);
                    FloatVector w0 = FloatVector.broadcast(FLOATS, scores[w]);
                    FloatVector w1 = FloatVector.broadcast(FLOATS, scores[w + 1]);
                    FloatVector w2 = FloatVector.broadcast(FLOATS, scores[w + 2]);
                    FloatVector w3 = FloatVector.broadcast(FLOATS, scores[w + 3]);
                    a0 = v.fma(w0, a0);
                    a1 = v.fma(w1, a1);
                    a2 = v.fma(w2, a2);
                    a3 = v.fma(w3, a3);
                    b0 = v1.fma(w0, b0);
                    b1 = v1.fma(w1, b1);
                    b2 = v1.fma(w2, b2);
                    b3 = v1.fma(w3, b3);
                }
                a0.mul(scores[inverse + i]).intoArray(out, (q0 + i) * d + head + t);
                a1.mul(scores[inverse + i + 1]).intoArray(out, (q0 + i + 1) * d + head + t);
                a2.mul(scores[inverse + i + 2]).intoArray(out, (q0 + i + 2) * d + head + t);
                a3.mul(scores[inverse + i + 3]).intoArray(out, (q0 + i + 3) * d + head + t);
                b0.mul(scores[inverse + i]).intoArray(out, (q0 + i) * d + head + t + FLOAT_LANES);
                b1.mul(scores[inverse + i + 1]).intoArray(out, (q0 + i + 1) * d + head + t + FLOAT_LANES);
                b2.mul(scores[inverse + i + 2]).intoArray(out, (q0 + i + 2) * d + head + t + FLOAT_LANES);
                b3.mul(scores[inverse + i + 3]).intoArray(out, (q0 + i + 3) * d + head + t + FLOAT_LANES);
            }
            for (; t < dh; t += FLOAT_LANES) {
                FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0;
                for (int m = 0; m < n; m++) {
                    int w = m * FLOAT_LANES + i;
                    FloatVector v = FloatVector.fromArray(FLOATS, values, m * d + head + t);
                    a0 = v.fma(FloatVector.broadcast(FLOATS, scores[w]), a0);
                    a1 = v.fma(FloatVector.broadcast(FLOATS, scores[w + 1]), a1);
                    a2 = v.fma(FloatVector.broadcast(FLOATS, scores[w + 2]), a2);
                    a3 = v.fma(FloatVector.broadcast(FLOATS, scores[w + 3]), a3);
                }
                a0.mul(scores[inverse + i]).intoArray(out, (q0 + i) * d + head + t);
                a1.mul(scores[inverse + i + 1]).intoArray(out, (q0 + i + 1) * d + head + t);
                a2.mul(scores[inverse + i + 2]).intoArray(out, (q0 + i + 2) * d + head + t);
                a3.mul(scores[inverse + i + 3]).intoArray(out, (q0 + i + 3) * d + head + t);
            }
        }
        for (; i < live; i++) {
            for (int t = 0; t < dh; t += FLOAT_LANES) {
                FloatVector a = FloatVector.zero(FLOATS);
                for (int m = 0; m < n; m++) {
                    a = FloatVector.fromArray(FLOATS, values, m * d + head + t)
                            .fma(FloatVector.broadcast(FLOATS, scores[m * FLOAT_LANES + i]), a);
                }
                a.mul(scores[inverse + i]).intoArray(out, (q0 + i) * d + head + t);
            }
        }
        // A head with no finite score outputs zeros (its 1/Σ is NO_KEYS). Fixed up here rather than in a helper taking
        // the sums: a vector passed to a method C2 does not inline is boxed, and C2 did not always inline it.
        for (i = 0; i < live; i++) {
            if (scores[inverse + i] == NO_KEYS) {
                java.util.Arrays.fill(out, (q0 + i) * d + head, (q0 + i) * d + head + dh, 0f);
            }
        }
    }

    /** What {@link #softmaxHead} returns for a head with no finite score: a real 1 / total is positive, +∞ or NaN. */
    private static final float NO_KEYS = -1f;

    /**
     * Pass 1 and 2 of head j's attention for the query at {@code queries[q..q + d)}: the weights 2^(s_m − max) of its
     * n keys into {@code scores[at..at + n)} (the null key, which has no value row, joins only the total); returns
     * 1 / their total, or {@link #NO_KEYS} when no score is finite (the head's output is zero; NaN inputs still give
     * NaN, as in the scalar twin).
     */
    private static float softmaxHead(float[] queries, int q, AttentionKeys keys, int j, float[] scores, int at) {
        int n = keys.n, dh = keys.headDim, head = j * dh;
        float[] nullK = keys.nullK;
        scoreKeys(queries, q + head, keys.keysT(), head, keys.stride, n, dh, scores, at);
        float maxScore = largestScore(scores, at, n);
        float nullScore = 0;
        if (nullK != null) {
            for (int t = 0; t < dh; t++) {
                nullScore += queries[q + head + t] * nullK[head + t];
            }
            maxScore = Math.max(maxScore, nullScore);
        }
        if (maxScore == Float.NEGATIVE_INFINITY) {
            return NO_KEYS;
        }
        // Whole vectors: the keys' stride has room past n, and the lanes past n are never read.
        FloatVector shift = FloatVector.broadcast(FLOATS, maxScore);
        for (int m = 0; m < n; m += FLOAT_LANES) {
            FloatVector.fromArray(FLOATS, scores, at + m).sub(shift).intoArray(scores, at + m);
        }
        DeterministicMath.exp2Rows(scores, at, FLOAT_LANES, (n + FLOAT_LANES - 1) / FLOAT_LANES);
        float total = DeterministicMath.sum(scores, at, n);
        if (nullK != null) {
            total += ScalarKernels.exp2(nullScore - maxScore);
        }
        return 1 / total;
    }

    /**
     * {@link #attendValues} when head widths are whole vectors and every head's weights fit in {@code scores}: the same
     * arithmetic, each output vector's sum over keys still one chain in key order (so the same bits), but four
     * output vectors' chains run side by side instead of one head's at a time (at d = 64 on 512-bit vectors, the four
     * heads). Layout of {@code scores}: head j's weights at {@code [j·stride, j·stride + n)}, then one float a head,
     * its {@link #softmaxHead} result.
     */
    private static void attendValuesHeadsTogether(float[] queries, int count, AttentionKeys keys, float[] values, float[] scores,
                                                  float[] out) {
        int n = keys.n, d = keys.d, dh = keys.headDim, stride = keys.stride, heads = keys.heads;
        int inverses = heads * stride;
        for (int i = 0; i < count; i++) {
            int q = i * d;
            for (int j = 0; j < heads; j++) {
                float inverse = softmaxHead(queries, q, keys, j, scores, j * stride);
                scores[inverses + j] = inverse;
                // The weights e·(1/Σe) once a head, each the float product the sums below used to form once an output
                // vector: the same bits, a multiply fewer in every step of the hot loop.
                FloatVector scale = FloatVector.broadcast(FLOATS, inverse);
                for (int m = 0; m < n; m += FLOAT_LANES) {
                    FloatVector.fromArray(FLOATS, scores, j * stride + m).mul(scale).intoArray(scores, j * stride + m);
                }
            }
            int c = 0;
            for (; c + 4 * FLOAT_LANES <= d; c += 4 * FLOAT_LANES) {
                int c1 = c + FLOAT_LANES, c2 = c1 + FLOAT_LANES, c3 = c2 + FLOAT_LANES;
                int w0 = c / dh * stride, w1 = c1 / dh * stride, w2 = c2 / dh * stride, w3 = c3 / dh * stride;
                FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0;
                for (int m = 0; m < n; m++) {
                    int row = m * d;
                    a0 = FloatVector.fromArray(FLOATS, values, row + c).fma(FloatVector.broadcast(FLOATS, scores[w0 + m]), a0);
                    a1 = FloatVector.fromArray(FLOATS, values, row + c1).fma(FloatVector.broadcast(FLOATS, scores[w1 + m]), a1);
                    a2 = FloatVector.fromArray(FLOATS, values, row + c2).fma(FloatVector.broadcast(FLOATS, scores[w2 + m]), a2);
                    a3 = FloatVector.fromArray(FLOATS, values, row + c3).fma(FloatVector.broadcast(FLOATS, scores[w3 + m]), a3);
                }
                a0.intoArray(out, q + c);
                a1.intoArray(out, q + c1);
                a2.intoArray(out, q + c2);
                a3.intoArray(out, q + c3);
            }
            for (; c < d; c += FLOAT_LANES) {
                int w = c / dh * stride;
                FloatVector acc = FloatVector.zero(FLOATS);
                for (int m = 0; m < n; m++) {
                    acc = FloatVector.fromArray(FLOATS, values, m * d + c).fma(FloatVector.broadcast(FLOATS, scores[w + m]), acc);
                }
                acc.intoArray(out, q + c);
            }
            for (int j = 0; j < heads; j++) {
                if (scores[inverses + j] == NO_KEYS) {
                    java.util.Arrays.fill(out, q + j * dh, q + (j + 1) * dh, 0f);
                }
            }
        }
    }

    /**
     * Pass 1 of a head's attention: {@code scores[m] = q·K_j[m]} for m < n, 16 (8) keys a step with lanes over keys
     * and one broadcast of q[t] a component.
     */
    private static void scoreKeys(float[] queries, int q, float[] kT, int head, int stride, int n, int dh, float[] scores,
                                   int at) {
        // A step's score is one chain of dh dependent FMAs (dh = 16: 64 cycles of latency for 16 FMAs). Four steps
        // at a time run four chains side by side; each chain keeps its order, so the scores are the same bits.
        // The fourth step starts below n, so it ends within the keys' stride (n rounded up to 16).
        int m = 0;
        for (; m + 3 * FLOAT_LANES < n; m += 4 * FLOAT_LANES) {
            FloatVector s0 = FloatVector.zero(FLOATS), s1 = s0, s2 = s0, s3 = s0;
            for (int t = 0; t < dh; t++) {
                FloatVector qt = FloatVector.broadcast(FLOATS, queries[q + t]);
                int row = (head + t) * stride + m;
                s0 = FloatVector.fromArray(FLOATS, kT, row).fma(qt, s0);
                s1 = FloatVector.fromArray(FLOATS, kT, row + FLOAT_LANES).fma(qt, s1);
                s2 = FloatVector.fromArray(FLOATS, kT, row + 2 * FLOAT_LANES).fma(qt, s2);
                s3 = FloatVector.fromArray(FLOATS, kT, row + 3 * FLOAT_LANES).fma(qt, s3);
            }
            s0.intoArray(scores, at + m);
            s1.intoArray(scores, at + m + FLOAT_LANES);
            s2.intoArray(scores, at + m + 2 * FLOAT_LANES);
            s3.intoArray(scores, at + m + 3 * FLOAT_LANES);
        }
        for (; m < n; m += FLOAT_LANES) {
            FloatVector s = FloatVector.zero(FLOATS);
            for (int t = 0; t < dh; t++) {
                s = FloatVector.fromArray(FLOATS, kT, (head + t) * stride + m).fma(FloatVector.broadcast(FLOATS, queries[q + t]), s);
            }
            s.intoArray(scores, at + m);
        }
    }

    /**
     * The largest of {@code scores[at..at + n)}. A pass of its own, not a running max in {@link #scoreKeys}' loops:
     * there, as in the lanes-over-queries softmax, C2 compiled the running max as heap boxes in some JVMs (1.3 KB a
     * request).
     */
    private static float largestScore(float[] scores, int at, int n) {
        FloatVector max = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY);
        for (int m = 0; m < n; m += FLOAT_LANES) {
            max = max.lanewise(VectorOperators.MAX, FloatVector.fromArray(FLOATS, scores, at + m), FLOATS.indexInRange(m, n));
        }
        return max.reduceLanes(VectorOperators.MAX); // exact in any order, unlike a float sum
    }

    /** Candidates whose cross rows {@link #crossScan} touches before it reads them (a few KB of lines: L1). */
    private static final int CROSS_CHUNK = 128;

    @Override
    public void crossScan(byte[] codes, int stride, int count, int levels, int codebookSize, float[] x, int dx,
                          MemorySegment crossRows, int[] rows, float[] out) {
        // Each candidate's item.cross row is a random DRAM line (or a few); one load of each line of a chunk's rows
        // first keeps many misses in flight (Java has no prefetch), then the gather-sum-dot reads them from L1.
        // Lanes run over the dx components: L table rows summed, one FMA with the item's row, one reduction.
        long rowBytes = (long) dx * Float.BYTES;
        int vectorEnd = FLOATS.loopBound(dx);
        for (int start = 0; start < count; start += CROSS_CHUNK) {
            int end = Math.min(count, start + CROSS_CHUNK);
            touchRows(crossRows, rowBytes, rows, start, end, out);
            for (int i = start; i < end; i++) {
                out[i] = crossDot(crossRows, rows[i] * rowBytes, dx, vectorEnd, codes, stride, i, levels, codebookSize, x);
            }
        }
    }

    /**
     * dx = 16 (one 64-byte line of floats), the trainer's default, which with L = 3 gets loops of constant length
     * (see {@link #LINE}).
     */
    private static final int CROSS_LINE = 16;

    /** Candidates whose records {@link #dotRowsCross} touches before it computes them (20 KB of 320-byte records: L1). */
    private static final int RECORD_CHUNK = 64;

    @Override
    public void dotRowsCross(MemorySegment records, int dv, int dx, int[] rows, int count, float[] u, float scale,
                             float shift, byte[] codes, int stride, int levels, int codebookSize, float[] x, float[] out,
                             float[] cross) {
        // One load of every line of a chunk's records first keeps many misses in flight (Java has no prefetch); both
        // dot products then read L1. The arithmetic is dotRows' and crossScan's, in their order: the same bits.
        long recordBytes = 4L * (dv + dx);
        int dvEnd = FLOATS.loopBound(dv), dxEnd = FLOATS.loopBound(dx);
        for (int start = 0; start < count; start += RECORD_CHUNK) {
            int end = Math.min(count, start + RECORD_CHUNK);
            touchRows(records, recordBytes, rows, start, end, out);
            int i = start;
            if (dvEnd == dv) {
                for (; i <= end - GROUP; i += GROUP) { // dotRows' grouped form for the s_TT halves, then each cross half
                    dotGroup(records, recordBytes, dv, rows, i, u, scale, shift, out);
                    for (int c = i; c < i + GROUP; c++) {
                        cross[c] = crossDot(records, rows[c] * recordBytes + 4L * dv, dx, dxEnd, codes, stride, c, levels,
                                codebookSize, x);
                    }
                }
            }
            for (; i < end; i++) {
                long base = rows[i] * recordBytes;
                out[i] = scale * dotRow(records, base, dv, dvEnd, u) + shift;
                cross[i] = crossDot(records, base + 4L * dv, dx, dxEnd, codes, stride, i, levels, codebookSize, x);
            }
        }
    }

    /** ⟨Σ_l x[l, z_l], row⟩ for candidate i, its row at {@code base}: crossScan's arithmetic for one candidate. */
    private static float crossDot(MemorySegment rows, long base, int dx, int vectorEnd, byte[] codes, int stride, int i,
                                  int levels, int codebookSize, float[] x) {
        if (dx == CROSS_LINE && levels == 3) { // the same sums and FMAs as below, with constant loop lengths
            int z0 = Byte.toUnsignedInt(codes[i]) * CROSS_LINE;
            int z1 = (codebookSize + Byte.toUnsignedInt(codes[stride + i])) * CROSS_LINE;
            int z2 = (2 * codebookSize + Byte.toUnsignedInt(codes[2 * stride + i])) * CROSS_LINE;
            FloatVector acc = FloatVector.zero(FLOATS);
            for (int c = 0; c < CROSS_LINE; c += FLOAT_LANES) {
                FloatVector sum = FloatVector.fromArray(FLOATS, x, z0 + c).add(FloatVector.fromArray(FLOATS, x, z1 + c))
                        .add(FloatVector.fromArray(FLOATS, x, z2 + c));
                acc = FloatVector.fromMemorySegment(FLOATS, rows, base + (long) Float.BYTES * c, LE).fma(sum, acc);
            }
            return DeterministicMath.sum(acc);
        }
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int c = 0; c < vectorEnd; c += FLOAT_LANES) {
            FloatVector sum = FloatVector.fromArray(FLOATS, x, (Byte.toUnsignedInt(codes[i]) * dx) + c);
            for (int l = 1; l < levels; l++) {
                int row = l * codebookSize + Byte.toUnsignedInt(codes[l * stride + i]);
                sum = sum.add(FloatVector.fromArray(FLOATS, x, row * dx + c));
            }
            acc = FloatVector.fromMemorySegment(FLOATS, rows, base + (long) Float.BYTES * c, LE).fma(sum, acc);
        }
        float dot = DeterministicMath.sum(acc); // reduceLanes(ADD) changes its order once compiled
        for (int c = vectorEnd; c < dx; c++) { // scalar tail
            float sum = 0;
            for (int l = 0; l < levels; l++) {
                sum += x[(l * codebookSize + Byte.toUnsignedInt(codes[l * stride + i])) * dx + c];
            }
            dot += sum * rows.get(Layouts.F32, base + (long) Float.BYTES * c);
        }
        return dot;
    }

    @Override
    public void lutScanF32(byte[] codes, int stride, int count, int levels, int codebookSize, float[] lut, float[] out) {
        // Scalar loads of a small float table are as fast as AVX-512 gathers (FAISS found the same).
        ScalarKernels.INSTANCE.lutScanF32(codes, stride, count, levels, codebookSize, lut, out);
    }

    @Override
    public void lutScanU8(byte[] codes, int stride, int count, int levels, byte[] lutU8, short[] sums) {
        if (!byteTablesInRegisters) {
            if (byteTablesShuffled) {
                int lanes = BYTES_256.length(); // 32 candidates a step
                for (int i = 0; i < count; i += lanes) {
                    shuffleBlockU8(codes, stride, i, levels, lutU8, sums);
                }
            } else {
                ScalarKernels.INSTANCE.lutScanU8(codes, stride, count, levels, lutU8, sums);
            }
            return;
        }
        if (levels == 3) {
            scanThreeLevelsU8(codes, stride, count, lutU8, sums);
            return;
        }
        int lanes = BYTES_512.length(); // 64 candidates a step
        for (int i = 0; i < count; i += lanes) {
            scanBlockU8(codes, stride, i, levels, lutU8, sums);
        }
    }

    /**
     * The uint8 scan at L = 3 (the contract's default): the three tables' twelve 64-byte registers are loaded once
     * and stay live across the whole call, where {@link #scanBlockU8} reloads a level's four every 64 candidates
     * (the C kernel does the same for every L: its level count is a compile-time constant). The same lookups and
     * additions as {@link #scanBlockU8}, written out for three levels: a vector is never passed to a helper, so
     * nothing can be boxed if C2 declines to inline one.
     */
    private static void scanThreeLevelsU8(byte[] codes, int stride, int count, byte[] lutU8, short[] sums) {
        ByteVector a0 = ByteVector.fromArray(BYTES_512, lutU8, 0), a1 = ByteVector.fromArray(BYTES_512, lutU8, 64);
        ByteVector a2 = ByteVector.fromArray(BYTES_512, lutU8, 128), a3 = ByteVector.fromArray(BYTES_512, lutU8, 192);
        ByteVector b0 = ByteVector.fromArray(BYTES_512, lutU8, 256), b1 = ByteVector.fromArray(BYTES_512, lutU8, 320);
        ByteVector b2 = ByteVector.fromArray(BYTES_512, lutU8, 384), b3 = ByteVector.fromArray(BYTES_512, lutU8, 448);
        ByteVector c0 = ByteVector.fromArray(BYTES_512, lutU8, 512), c1 = ByteVector.fromArray(BYTES_512, lutU8, 576);
        ByteVector c2 = ByteVector.fromArray(BYTES_512, lutU8, 640), c3 = ByteVector.fromArray(BYTES_512, lutU8, 704);
        int lanes = BYTES_512.length();
        for (int i = 0; i < count; i += lanes) {
            ByteVector code = ByteVector.fromArray(BYTES_512, codes, i);
            ByteVector entry = code.selectFrom(a0, a1).blend(code.selectFrom(a2, a3), code.compare(VectorOperators.LT, (byte) 0));
            ShortVector low = (ShortVector) entry.convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_512, 0);
            ShortVector high = (ShortVector) entry.convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_512, 1);
            code = ByteVector.fromArray(BYTES_512, codes, stride + i);
            entry = code.selectFrom(b0, b1).blend(code.selectFrom(b2, b3), code.compare(VectorOperators.LT, (byte) 0));
            low = low.add((ShortVector) entry.convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_512, 0));
            high = high.add((ShortVector) entry.convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_512, 1));
            code = ByteVector.fromArray(BYTES_512, codes, 2 * stride + i);
            entry = code.selectFrom(c0, c1).blend(code.selectFrom(c2, c3), code.compare(VectorOperators.LT, (byte) 0));
            low = low.add((ShortVector) entry.convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_512, 0));
            high = high.add((ShortVector) entry.convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_512, 1));
            low.intoArray(sums, i);
            high.intoArray(sums, i + SHORTS_512.length());
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

    /**
     * One step of the uint8 scan without VBMI: 32 candidates from {@code i}, all levels. A 256-bit byte
     * {@code selectFrom} reads 32 entries (on AVX2, C2 builds it from a {@code vperm2i128} of the table, two
     * {@code vpshufb}, an add and a {@code vpblendvb}), so a level's table is eight 32-entry sub-tables, each looked up with the code's
     * low five bits (selectFrom wraps indices), and a tree of seven blends on bits 5, 6 and 7 picks the entry. A
     * method of its own, for the reason given at {@link #scanBlockU8}.
     */
    private static void shuffleBlockU8(byte[] codes, int stride, int i, int levels, byte[] lutU8, short[] sums) {
        // Candidates in lanes; uint16 sums in two vectors of 16 lanes (candidates i..i+15, i+16..i+31).
        ShortVector low = ShortVector.zero(SHORTS_256);
        ShortVector high = ShortVector.zero(SHORTS_256);
        for (int l = 0; l < levels; l++) {
            int table = l * 256;
            ByteVector code = ByteVector.fromArray(BYTES_256, codes, l * stride + i);
            // Bits 6 and 5 moved to the sign bit by adding the code to itself: AVX2 has no byte shift.
            ByteVector twice = code.add(code);
            VectorMask<Byte> bit7 = code.compare(VectorOperators.LT, (byte) 0);
            VectorMask<Byte> bit6 = twice.compare(VectorOperators.LT, (byte) 0);
            VectorMask<Byte> bit5 = twice.add(twice).compare(VectorOperators.LT, (byte) 0);
            ByteVector e0 = code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 32)), bit5);
            ByteVector e1 = code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 64))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 96)), bit5);
            ByteVector e2 = code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 128))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 160)), bit5);
            ByteVector e3 = code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 192))
                    .blend(code.selectFrom(ByteVector.fromArray(BYTES_256, lutU8, table + 224)), bit5);
            ByteVector entry = e0.blend(e1, bit6).blend(e2.blend(e3, bit6), bit7);
            ByteVector upperHalf = entry.reinterpretAsLongs().rearrange(SWAP_HALVES).reinterpretAsBytes();
            low = low.add((ShortVector) entry.convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_256, 0));
            high = high.add((ShortVector) upperHalf.convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_256, 0));
        }
        low.intoArray(sums, i);
        high.intoArray(sums, i + SHORTS_256.length());
    }
}
