package io.tarq.jmh;

import io.tarq.layout.TarqDimensions;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The core's multiply-add peak as a piece of work of a chosen size: steps of {@value #CHAINS} independent vector FMAs
 * on registers (enough chains to cover the FMA latency on every port), nothing loaded or stored. Timed beside a
 * request it turns "the request's multiply-adds at the peak" into a time measured in the same run.
 */
final class FmaPeak {
    /** Independent accumulators: enough to cover FMA latency × ports. */
    static final int CHAINS = 12;
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

    private final int steps;

    /** Work of {@code multiplyAdds} multiply-adds, rounded down to whole steps (at least one). */
    FmaPeak(long multiplyAdds) {
        this.steps = (int) Math.max(1, multiplyAdds / ((long) CHAINS * FLOATS.length()));
    }

    /** The multiply-adds one {@link #run} does. */
    long multiplyAdds() {
        return (long) steps * CHAINS * FLOATS.length();
    }

    /** Runs the multiply-adds; the result only keeps the JIT from removing them. */
    float run() {
        FloatVector a = FloatVector.broadcast(FLOATS, 0.999f);
        FloatVector b = FloatVector.broadcast(FLOATS, 1e-3f);
        FloatVector c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (int i = 0; i < steps; i++) {
            c0 = c0.fma(a, b);
            c1 = c1.fma(a, b);
            c2 = c2.fma(a, b);
            c3 = c3.fma(a, b);
            c4 = c4.fma(a, b);
            c5 = c5.fma(a, b);
            c6 = c6.fma(a, b);
            c7 = c7.fma(a, b);
            c8 = c8.fma(a, b);
            c9 = c9.fma(a, b);
            c10 = c10.fma(a, b);
            c11 = c11.fma(a, b);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11).lane(0);
    }

    /**
     * The user side's multiply-adds for n behaviours as the contract orders its forward pass (docs/benchmarks.md, the
     * cost model): the sequence block's four projections 4·n·d² and its attention 2·n²·d, the user attention's keys
     * and values 2·n·d² and its query and output 2·d², the user MLP and readout 2d·f + f·dv + dv·d. The engine does
     * fewer (its user attention never projects H), so a request against this is the request against the contract's
     * arithmetic, comparable across engine versions.
     */
    static long userSideMultiplyAdds(TarqDimensions dims, int n) {
        long d = dims.d(), f = dims.mlpHidden(), dv = dims.dv();
        return 4 * n * d * d + 2L * n * n * d + 2 * n * d * d + 2 * d * d + 2 * d * f + f * dv + dv * d;
    }
}
