package io.tarq.engine.kernel.panama;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Reductions and exponentials that give the same bits whether the code runs interpreted, in C1 or in C2.
 *
 * <p>Why: {@code reduceLanes(ADD)} on floats may add in a different order once C2 intrinsifies it, and
 * {@code lanewise(EXP)} runs a vector math library in C2 but {@code Math.exp} per lane before; both change results
 * in the last bits as a method warms up. A server's scores must not change after warm-up, and two threads must agree
 * on a request whatever their JIT state, so the kernels use these instead: a fixed pairwise tree of lanewise adds,
 * and a base-2 exponential made of IEEE operations only (add, multiply, fused multiply-add, exact conversions), each of
 * which every compilation state rounds identically.
 */
final class DeterministicMath {
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = FLOATS.length(); // 8 or 16: the kernels refuse narrower vectors
    // Rotations by 8, 4, 2, 1 lanes: after adding each (8 only with 16 lanes), lane 0 holds the sum of all lanes.
    private static final VectorShuffle<Float> ROTATE_8 = VectorShuffle.iota(FLOATS, 8 % LANES, 1, true);
    private static final VectorShuffle<Float> ROTATE_4 = VectorShuffle.iota(FLOATS, 4, 1, true);
    private static final VectorShuffle<Float> ROTATE_2 = VectorShuffle.iota(FLOATS, 2, 1, true);
    private static final VectorShuffle<Float> ROTATE_1 = VectorShuffle.iota(FLOATS, 1, 1, true);

    // Cephes exp2f: 2^x = 2^k · 2^f with k = round(x) and f = x − k in [−1/2, 1/2] (exact), 2^f by a degree-6
    // polynomial (relative error below 2e-7). No range reduction by ln 2 is needed: that is why queries are scaled by
    // log₂(e) and the kernels compute softmax in base 2. The coefficients are separate constants rather than an array:
    // C2 folds a static final float into the code and hoists its broadcast out of the caller's loop, while an array
    // element is loaded and broadcast again on every call.
    private static final float ROUNDING = 12582912f; // 1.5 · 2^23: t + R − R rounds t to an integer
    // R + 127 also rounds to an integer (its ulp is still 1), ties to odd since it is odd (f = ±1/2 are both inside the
    // polynomial's range), and leaves k + 127, 2^k's biased exponent, in the low bits: one integer add fewer.
    private static final float ROUNDING_BIASED = ROUNDING + 127f;
    private static final float MIN_INPUT = -126f;    // 2^x stays a normal float
    private static final float P6 = 1.535336188319500e-4f;
    private static final float P5 = 1.339887440266574e-3f;
    private static final float P4 = 9.618437357674640e-3f;
    private static final float P3 = 5.550332471162809e-2f;
    private static final float P2 = 2.402264791363012e-1f;
    private static final float P1 = 6.931472028550421e-1f;
    private static final float P0 = 1f;

    /** How many vectors {@link #sums} reduces together. */
    static final int GROUP = 8;
    // sums' three merge stages pair lanes half, a quarter and an eighth of a vector apart: lanes with that bit set
    // come from the second vector, and the swap lines each lane up with its partner.
    private static final int SPAN_1 = LANES / 2, SPAN_2 = LANES / 4, SPAN_3 = LANES / 8;
    private static final VectorMask<Float> SECOND_1 = spanMask(SPAN_1), SECOND_2 = spanMask(SPAN_2),
            SECOND_3 = spanMask(SPAN_3);
    private static final VectorShuffle<Float> SWAP_1 = spanSwap(SPAN_1), SWAP_2 = spanSwap(SPAN_2),
            SWAP_3 = spanSwap(SPAN_3), SWAP_ADJACENT = spanSwap(1);
    /** Puts sums' result in input order: lane g ends up holding the sum of the g-th argument. */
    private static final VectorShuffle<Float> IN_ORDER = VectorShuffle.fromArray(FLOATS, sumsOrder(), 0);

    private DeterministicMath() {
    }

    /**
     * The lane sums of eight vectors, in lanes 0..7 of one vector (lanes 8..15 of a 16-lane vector are unspecified):
     * each the same bits as {@link #sum} of that vector, for some 30 instructions instead of eight reductions' 60.
     *
     * <p>Why the bits agree: {@code sum} is a pairwise tree, lane i plus lane i + LANES/2, then pairs a quarter apart,
     * and so on. Each merge stage here performs one level of that tree for two vectors at once, each vector's
     * partial sums in the lanes the other's no longer need; float addition is commutative, so which operand comes
     * first does not matter, only the tree.
     */
    static FloatVector sums(FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3,
                            FloatVector a4, FloatVector a5, FloatVector a6, FloatVector a7) {
        FloatVector b0 = merge(a0, a1, SECOND_1, SWAP_1), b1 = merge(a2, a3, SECOND_1, SWAP_1);
        FloatVector b2 = merge(a4, a5, SECOND_1, SWAP_1), b3 = merge(a6, a7, SECOND_1, SWAP_1);
        FloatVector c0 = merge(b0, b1, SECOND_2, SWAP_2), c1 = merge(b2, b3, SECOND_2, SWAP_2);
        FloatVector d = merge(c0, c1, SECOND_3, SWAP_3);
        if (LANES == 16) { // the tree's last level, lanes one apart, within the vector
            d = d.add(d.rearrange(SWAP_ADJACENT));
        }
        return d.rearrange(IN_ORDER);
    }

    /**
     * {@link #sum} of a in lane 0 and of b in lane LANES/2, the same bits as two calls of it, for half their permutes
     * and adds: the tree's first level as one {@link #merge} (a's partial sums in the lower half, b's in the upper),
     * its other levels within both halves at once.
     */
    static FloatVector sumsOfTwo(FloatVector a, FloatVector b) {
        FloatVector v = merge(a, b, SECOND_1, SWAP_1);
        if (LANES == 16) {
            v = v.add(v.rearrange(ROTATE_4));
        }
        v = v.add(v.rearrange(ROTATE_2));
        return v.add(v.rearrange(ROTATE_1));
    }

    /**
     * One level of the tree for x and y: lane i gets x[i] + x[i ^ span] where bit span of i is clear, and
     * y[i] + y[i ^ span] where it is set.
     */
    private static FloatVector merge(FloatVector x, FloatVector y, VectorMask<Float> second, VectorShuffle<Float> swap) {
        return x.blend(y, second).add(y.blend(x, second).rearrange(swap));
    }

    private static VectorMask<Float> spanMask(int span) {
        boolean[] bits = new boolean[LANES];
        for (int i = 0; i < LANES; i++) {
            bits[i] = (i & span) != 0;
        }
        return VectorMask.fromArray(FLOATS, bits, 0);
    }

    private static VectorShuffle<Float> spanSwap(int span) {
        return VectorShuffle.fromOp(FLOATS, i -> i ^ span);
    }

    /** Where {@link #sums}' merges leave each argument's sum, inverted: lane g names the lane of argument g. */
    private static int[] sumsOrder() {
        int[] owner = new int[LANES]; // the argument whose partial sums a lane holds after the merges
        for (int i = 0; i < LANES; i++) {
            int k = 0; // merge stage s takes the second vector, which adds 2^(2-s) to the argument, where bit SPAN_s is set
            k += (i & SPAN_1) != 0 ? 1 : 0;
            k += (i & SPAN_2) != 0 ? 2 : 0;
            k += (i & SPAN_3) != 0 ? 4 : 0;
            owner[i] = k;
        }
        int[] order = new int[LANES];
        for (int g = 0; g < LANES; g++) {
            int lane = 0;
            while (owner[lane] != g % GROUP) {
                lane++;
            }
            order[g] = lane;
        }
        return order;
    }

    /** The sum of all lanes, always added in the same order (a pairwise tree). */
    static float sum(FloatVector v) {
        if (LANES == 16) {
            v = v.add(v.rearrange(ROTATE_8));
        }
        v = v.add(v.rearrange(ROTATE_4));
        v = v.add(v.rearrange(ROTATE_2));
        v = v.add(v.rearrange(ROTATE_1));
        return v.lane(0);
    }

    /**
     * The sum of {@code a[from..from + count)} in the order the lane-wise kernels add: each lane's running sum over
     * the vectors, in order, then {@link #sum}'s pairwise tree (the same tree, written out here so that no vector
     * crosses a call). Lanes past count are left out; the array needs no room past them.
     */
    static float sum(float[] a, int from, int count) {
        FloatVector v = FloatVector.zero(FLOATS);
        int m = 0;
        for (; m <= count - LANES; m += LANES) {
            v = v.add(FloatVector.fromArray(FLOATS, a, from + m));
        }
        if (m < count) {
            v = v.add(FloatVector.fromArray(FLOATS, a, from + m, FLOATS.indexInRange(m, count)));
        }
        if (LANES == 16) {
            v = v.add(v.rearrange(ROTATE_8));
        }
        v = v.add(v.rearrange(ROTATE_4));
        v = v.add(v.rearrange(ROTATE_2));
        v = v.add(v.rearrange(ROTATE_1));
        return v.lane(0);
    }

    /**
     * 2^x in place, lane by lane, for the vector rows {@code a[first + r·step ..+LANES)}, r < rows, with x ≤ 0 (softmax
     * arguments {@code s − max}); inputs below −126 give 2^−126 (≈ 1e−38), which no softmax sum notices. Larger inputs
     * are outside its contract.
     *
     * <p>Rows of an array, not a vector: a vector passed to or returned from a method C2 does not inline is boxed, and
     * C2 declines to inline ordinary methods by profile (a call site that looks cold, a caller grown past its node
     * budget), which the kernels cannot rule out. A kernel that called an exponential on vectors allocated some
     * 5 KB a request in some JVMs; with arrays and numbers crossing, declining the inline costs a call, never a box.
     */
    static void exp2Rows(float[] a, int first, int step, int rows) {
        exp2Rows(a, first, step, rows, -1, true);
    }

    /**
     * {@link #exp2Rows} of {@code row − shift}, the shift a row of its own at {@code a[shiftAt ..+LANES)}: the
     * softmax's subtraction of the max in the same pass.
     */
    static void exp2Rows(float[] a, int first, int step, int rows, int shiftAt) {
        exp2Rows(a, first, step, rows, shiftAt, true);
    }

    /**
     * {@link #exp2Rows} without the clamp, for x in [−126, 126]: the caller guarantees the range (a softmax whose
     * scores are bounded, see {@code AttentionKeys.unshiftedNormSq}).
     */
    static void exp2InRangeRows(float[] a, int first, int step, int rows) {
        exp2Rows(a, first, step, rows, -1, false);
    }

    private static void exp2Rows(float[] a, int first, int step, int rows, int shiftAt, boolean clamp) {
        // x − 0 is x exactly (−0 and NaN included): no shift is a zero shift.
        FloatVector shift = shiftAt < 0 ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, a, shiftAt);
        for (int r = 0; r < rows; r++) {
            int at = first + r * step;
            FloatVector x = FloatVector.fromArray(FLOATS, a, at).sub(shift);
            if (clamp) { // a compare and a blend: lanewise MAX keeps Java's NaN and signed-zero rules, six instructions on x86
                x = x.blend(MIN_INPUT, x.compare(VectorOperators.LT, MIN_INPUT));
            }
            // x + R holds k = round(x) in its low mantissa bits (R's own low bits are zero), as two's complement for
            // k < 0; with R + 127 they hold k + 127, which shifted left by 23 is 2^k's exponent field: exactly what
            // converting k to an int gives, without the conversion's fix-ups for NaN and overflow.
            FloatVector shifted = x.add(ROUNDING_BIASED);
            FloatVector k = shifted.sub(ROUNDING_BIASED);
            FloatVector f = x.sub(k);
            FloatVector p = FloatVector.broadcast(FLOATS, P6).fma(f, FloatVector.broadcast(FLOATS, P5))
                    .fma(f, FloatVector.broadcast(FLOATS, P4))
                    .fma(f, FloatVector.broadcast(FLOATS, P3))
                    .fma(f, FloatVector.broadcast(FLOATS, P2))
                    .fma(f, FloatVector.broadcast(FLOATS, P1))
                    .fma(f, FloatVector.broadcast(FLOATS, P0));
            IntVector exponent = shifted.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23);
            p.mul(exponent.reinterpretAsFloats()).intoArray(a, at);
        }
    }
}
