package io.tarq.jmh;

import io.tarq.engine.kernel.AttentionKeys;
import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.ScalarKernels;
import io.tarq.engine.kernel.panama.PanamaKernels;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
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
 * The user side's sequence-block attention ({@code attendValues}): n queries over the same n keys and values, d = 64,
 * h = 4, every mode's fixed cost. Multiply-adds a call: 2·n²·d (scores and the value sums; the exponentials are not
 * counted), 320k at n = 50. Compute-bound on L1-resident data, so its figures are steady where the request
 * benchmarks' memory-bound ones are not.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SelfAttentionBenchmark {
    public enum Impl { SCALAR, PANAMA }

    static final int D = 64;
    static final int HEADS = 4;

    @Param({"SCALAR", "PANAMA"})
    public Impl impl;

    @Param({"50"})
    public int history;

    private KernelSupport kernels;
    private AttentionKeys keys;
    private float[] queries;
    private float[] values;
    private float[] scores;
    private float[] out;

    @Setup(Level.Trial)
    public void setUp() {
        kernels = impl == Impl.SCALAR ? ScalarKernels.INSTANCE : new PanamaKernels();
        SplittableRandom random = new SplittableRandom(3);
        keys = new AttentionKeys(HEADS, D / HEADS, history, null);
        values = gaussian(random, history * D);
        keys.fill(gaussian(random, history * D), values, gaussian(random, D), history);
        queries = gaussian(random, history * D);
        scores = new float[KernelSupport.scoresLength(keys)];
        out = new float[history * D];
    }

    /** One sequence block's attention: n queries, each over all n keys of every head. */
    @Benchmark
    public float[] attendValues() {
        kernels.attendValues(queries, history, keys, values, scores, out);
        return out;
    }

    private static float[] gaussian(SplittableRandom random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (random.nextGaussian() * 0.3);
        }
        return out;
    }
}
