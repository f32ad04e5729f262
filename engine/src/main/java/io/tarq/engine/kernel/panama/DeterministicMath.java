package io.tarq.engine.kernel.panama;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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
 * and an exponential made of IEEE operations only (add, multiply, fused multiply-add, exact conversions), each of
 * which every compilation state rounds identically.
 */
final class DeterministicMath {
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = FLOATS.withLanes(int.class);
    private static final int LANES = FLOATS.length(); // 8 or 16: the kernels refuse narrower vectors
    // Rotations by 8, 4, 2, 1 lanes: after adding each (8 only with 16 lanes), lane 0 holds the sum of all lanes.
    private static final VectorShuffle<Float> ROTATE_8 = VectorShuffle.iota(FLOATS, 8 % LANES, 1, true);
    private static final VectorShuffle<Float> ROTATE_4 = VectorShuffle.iota(FLOATS, 4, 1, true);
    private static final VectorShuffle<Float> ROTATE_2 = VectorShuffle.iota(FLOATS, 2, 1, true);
    private static final VectorShuffle<Float> ROTATE_1 = VectorShuffle.iota(FLOATS, 1, 1, true);

    // Cephes expf: e^x = 2^k · e^r with k = round(x / ln 2), |r| ≤ ln(2)/2, e^r by a degree-6 polynomial
    // (relative error below 2e-7); ln 2 split in two so that x − k·ln 2 is exact.
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HIGH = 0.693359375f;
    private static final float LN2_LOW = -2.12194440e-4f;
    private static final float ROUNDING = 12582912f; // 1.5 · 2^23: t + R − R rounds t to an integer, ties to even
    private static final float MIN_INPUT = -87.33654f; // e^x stays a normal float
    private static final float MAX_INPUT = 88.72283f;
    private static final float[] POLYNOMIAL = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
            4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

    private DeterministicMath() {
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

    /** e^x lane by lane; inputs below −87.3 give e^−87.3 (≈ 1e−38), which no softmax sum notices. */
    static FloatVector exp(FloatVector x) {
        x = x.max(MIN_INPUT).min(MAX_INPUT);
        FloatVector k = x.mul(LOG2E).add(ROUNDING).sub(ROUNDING);
        FloatVector r = k.fma(FloatVector.broadcast(FLOATS, -LN2_HIGH), x);
        r = k.fma(FloatVector.broadcast(FLOATS, -LN2_LOW), r);
        FloatVector p = FloatVector.broadcast(FLOATS, POLYNOMIAL[0]);
        for (int i = 1; i < POLYNOMIAL.length; i++) {
            p = p.fma(r, FloatVector.broadcast(FLOATS, POLYNOMIAL[i]));
        }
        FloatVector y = p.mul(r.mul(r)).add(r).add(1f);
        IntVector exponent = ((IntVector) k.convertShape(VectorOperators.F2I, INTS, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(exponent.reinterpretAsFloats());
    }
}
