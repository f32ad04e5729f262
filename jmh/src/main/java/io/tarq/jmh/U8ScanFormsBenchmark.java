package io.tarq.jmh;

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
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The uint8 scan's forms for AVX2 ({@link U8ScanForms}) against the scalar loop and the engine's Panama kernel, per
 * candidate (all L levels), on the same data as {@link ScanBenchmark}. Every form runs in each fork, one after the
 * other, so that on a busy machine they are compared as ratios within one run. Each trial ends by checking the
 * compiled form's sums against the scalar scan's: the unit tests mostly run the forms before C2 compiles them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector"})
// A pure register loop: C2 compiles it within the first second.
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class U8ScanFormsBenchmark {
    static final int CANDIDATES = 5000;

    @Param({"3"})
    public int levels;

    private PanamaKernels panama;
    private byte[] codes;
    private int stride;
    private byte[] lutU8;
    private short[] sums;
    private int[] lutI32;
    private int[] indexes;

    @Setup(Level.Trial)
    public void setUp() {
        panama = new PanamaKernels();
        SplittableRandom random = new SplittableRandom(3);
        stride = (CANDIDATES + 63) & ~63;
        codes = new byte[levels * stride];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) random.nextInt(256);
        }
        lutU8 = new byte[levels * 256];
        random.nextBytes(lutU8);
        sums = new short[stride];
        lutI32 = new int[levels * 256];
        indexes = new int[8];
    }

    @TearDown(Level.Trial)
    public void checkSums() {
        short[] expected = new short[stride];
        ScalarKernels.INSTANCE.lutScanU8(codes, stride, CANDIDATES, levels, lutU8, expected);
        for (int i = 0; i < CANDIDATES; i++) {
            if (sums[i] != expected[i]) {
                throw new IllegalStateException("candidate " + i + ": " + sums[i] + ", the scalar scan says " + expected[i]);
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(CANDIDATES)
    public short[] scalar() {
        ScalarKernels.INSTANCE.lutScanU8(codes, stride, CANDIDATES, levels, lutU8, sums);
        return sums;
    }

    /** Whatever {@link PanamaKernels#lutScanU8} picks on this machine ({@code description()} says which). */
    @Benchmark
    @OperationsPerInvocation(CANDIDATES)
    public short[] panama() {
        panama.lutScanU8(codes, stride, CANDIDATES, levels, lutU8, sums);
        return sums;
    }

    @Benchmark
    @OperationsPerInvocation(CANDIDATES)
    public short[] select32() {
        U8ScanForms.select32(codes, stride, CANDIDATES, levels, lutU8, sums);
        return sums;
    }

    @Benchmark
    @OperationsPerInvocation(CANDIDATES)
    public short[] select16() {
        U8ScanForms.select16(codes, stride, CANDIDATES, levels, lutU8, sums);
        return sums;
    }

    @Benchmark
    @OperationsPerInvocation(CANDIDATES)
    public short[] gatherI32() {
        U8ScanForms.gatherI32(codes, stride, CANDIDATES, levels, lutU8, sums, lutI32, indexes);
        return sums;
    }
}
