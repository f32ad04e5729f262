package io.tarq.jmh;

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
 * A Linear layer over {@code rows} inputs, d = 64 → 64 (the attention projections: the user side does seven of these
 * over n = 50 rows, exact TA one over each chunk of 128 candidates). Multiply-adds a call: rows · 64 · 64.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LinearBenchmark {
    public enum Impl { SCALAR, PANAMA }

    @Param({"SCALAR", "PANAMA"})
    public Impl impl;

    @Param({"50", "128"})
    public int rows;

    private KernelSupport kernels;
    private float[] x;
    private float[] wT;
    private float[] bias;
    private float[] y;

    @Setup(Level.Trial)
    public void setUp() {
        kernels = impl == Impl.SCALAR ? ScalarKernels.INSTANCE : new PanamaKernels();
        SplittableRandom random = new SplittableRandom(6);
        x = new float[rows * 64];
        wT = new float[64 * 64];
        bias = new float[64];
        y = new float[rows * 64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < wT.length; i++) {
            wT[i] = (float) (random.nextGaussian() / 8);
        }
    }

    @Benchmark
    public float[] linear() {
        kernels.linear(x, 0, rows, 64, wT, bias, 64, y, 0);
        return y;
    }
}
