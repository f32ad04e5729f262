package io.tarq.jmh;

import io.tarq.engine.kernel.AttentionKeys;
import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.QueryBlocks;
import io.tarq.engine.kernel.ScalarKernels;
import io.tarq.engine.kernel.panama.PanamaKernels;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The LUT build's attention (L·K = 768 codeword rows over n keys, d = 64, h = 4) beside an FMA-peak loop, in one run,
 * so its multiply-add throughput can be stated as a fraction of what the core does. Multiply-adds a build: L·K·n·d for
 * the scores plus L·K·n·h for the u-weighted sums (the exponentials are not counted).
 *
 * <p>{@code crossDim > 0}: the version-2 build of the cross head ({@code attendRowsCross}), the same rows plus each
 * one's dx-wide cross row X[l][k]: L·K·n·h·dx more multiply-adds. (The per-request U = V·valuesT before it, n·d·h·dx
 * multiply-adds, is not part of this benchmark, as the keys and u are not.) {@code NATIVE} has no cross kernel.
 *
 * <p>{@code NATIVE} is the same attention in C with AVX-512 or, on AVX2-only machines, AVX2 + FMA intrinsics
 * ({@code src/main/c/tarq_native.c}: the Panama kernel's arithmetic on vectors of the same width, scored four lane
 * groups at a time) on the same heap arrays through an FFM critical downcall. {@code fmaPeak} is Java's in every
 * {@code impl}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LutBuildBenchmark {
    public enum Impl { SCALAR, PANAMA, NATIVE }

    static final int QUERIES = 3 * 256;
    static final int D = 64;
    static final int HEADS = 4;
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    static final int PEAK_STEPS = 100_000;
    private static final FmaPeak PEAK = new FmaPeak((long) PEAK_STEPS * FmaPeak.CHAINS * FloatVector.SPECIES_PREFERRED.length());

    @Param({"SCALAR", "PANAMA", "NATIVE"})
    public Impl impl;

    @Param({"50"})
    public int history;

    /**
     * The queries' standard deviation (keys have 0.3): 0.3 keeps every score within ±64, as every trained model
     * measured does (the kernels' softmax then skips the max); 30 puts scores in the hundreds (it cannot).
     */
    @Param({"0.3"})
    public double queryStd;

    /** dx of the cross head; 0: the version-1 build (no cross rows). */
    @Param({"0"})
    public int crossDim;

    private KernelSupport kernels;
    private AttentionKeys keys;
    private float[] queriesT;
    private float[] scores;
    private float[] out;
    private float[] cross;

    @Setup(Level.Trial)
    public void setUp() {
        kernels = switch (impl) {
            case SCALAR -> ScalarKernels.INSTANCE;
            case PANAMA -> new PanamaKernels();
            case NATIVE -> null;
        };
        if (impl == Impl.NATIVE && crossDim > 0) {
            throw new IllegalArgumentException("NATIVE has no cross kernel: run crossDim > 0 with -p impl=SCALAR,PANAMA");
        }
        SplittableRandom random = new SplittableRandom(2);
        keys = new AttentionKeys(HEADS, D / HEADS, history, null, crossDim);
        keys.fill(gaussian(random, history * D, 0.3), gaussian(random, history * D, 0.3), gaussian(random, D, 0.3),
                history);
        if (crossDim > 0) {
            System.arraycopy(gaussian(random, history * HEADS * crossDim, 0.3), 0, keys.crossU, 0,
                    history * HEADS * crossDim);
        }
        float[] queries = gaussian(random, QUERIES * D, queryStd);
        queriesT = new float[QueryBlocks.length(QUERIES, D)];
        QueryBlocks.block(queries, 0, QUERIES, D, queriesT);
        int scoresPerKey = impl == Impl.NATIVE ? NativeKernels.SCORES_PER_KEY : KernelSupport.SCORES_PER_KEY;
        scores = new float[impl == Impl.NATIVE ? scoresPerKey * keys.capacity() : KernelSupport.scoresLength(keys)];
        out = new float[QUERIES];
        cross = new float[QUERIES * crossDim];
    }

    /** One LUT build: 768 attention readouts (and with crossDim > 0 their cross rows). */
    @Benchmark
    public float[] lutBuild() {
        if (impl == Impl.NATIVE) {
            NativeKernels.attendRows(queriesT, QUERIES, keys, scores, out);
            return out;
        }
        if (crossDim > 0) {
            kernels.attendRowsCross(queriesT, QUERIES, keys, scores, out, cross);
            return cross;
        }
        kernels.attendRows(queriesT, QUERIES, keys, scores, out);
        return out;
    }

    /**
     * {@value #PEAK_STEPS} steps of {@value FmaPeak#CHAINS} independent vector FMAs on registers ({@link FmaPeak}): the
     * core's multiply-add peak in this JVM. Multiply-adds a call: PEAK_STEPS × CHAINS × lanes.
     */
    @Benchmark
    public float fmaPeak() {
        return PEAK.run();
    }

    private static float[] gaussian(SplittableRandom random, int n, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (random.nextGaussian() * std);
        }
        return out;
    }
}
