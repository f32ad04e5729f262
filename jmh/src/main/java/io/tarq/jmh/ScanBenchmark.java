package io.tarq.jmh;

import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.ScalarKernels;
import io.tarq.engine.kernel.panama.PanamaKernels;
import java.lang.foreign.MemorySegment;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The candidate scan alone: L table lookups a candidate over one request's codes, already gathered level-major
 * ({@code codes[L][stride]}, what the scorer builds from the candidate-major copy), per candidate. Fetching the codes
 * is {@link CodeFetchBenchmark}'s, not this one's.
 *
 * <p>{@code NATIVE} is the C kernel ({@code src/main/c/tarq_native.c}, gcc -O3 -march=native) called through an FFM
 * critical downcall on the same heap arrays, wrapped once into segments here so that no call allocates: the limit
 * the Java kernels are measured against.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED"})
// A pure register loop: C2 compiles it within the first second.
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ScanBenchmark {
    public enum Impl { SCALAR, PANAMA, NATIVE }

    public enum Table { U8, F32 }

    static final int CANDIDATES = 5000;

    @Param({"SCALAR", "PANAMA", "NATIVE"})
    public Impl impl;

    @Param({"U8", "F32"})
    public Table table;

    @Param({"3"})
    public int levels;

    private KernelSupport kernels;
    private byte[] codes;
    private int stride;
    private byte[] lutU8;
    private float[] lut;
    private short[] sums;
    private float[] out;
    // NATIVE: the same arrays as segments.
    private MemorySegment codesSegment;
    private MemorySegment lutU8Segment;
    private MemorySegment lutSegment;
    private MemorySegment sumsSegment;
    private MemorySegment outSegment;

    @Setup(Level.Trial)
    public void setUp() {
        kernels = switch (impl) {
            case SCALAR -> ScalarKernels.INSTANCE;
            case PANAMA -> new PanamaKernels();
            case NATIVE -> null;
        };
        SplittableRandom random = new SplittableRandom(3);
        stride = (CANDIDATES + 63) & ~63;
        codes = new byte[levels * stride];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) random.nextInt(256);
        }
        lutU8 = new byte[levels * 256];
        random.nextBytes(lutU8);
        lut = new float[levels * 256];
        for (int i = 0; i < lut.length; i++) {
            lut[i] = (float) random.nextGaussian();
        }
        sums = new short[stride];
        out = new float[CANDIDATES];
        codesSegment = MemorySegment.ofArray(codes);
        lutU8Segment = MemorySegment.ofArray(lutU8);
        lutSegment = MemorySegment.ofArray(lut);
        sumsSegment = MemorySegment.ofArray(sums);
        outSegment = MemorySegment.ofArray(out);
    }

    /** Per candidate (all L levels); divide by L for the per-level figure. */
    @Benchmark
    @OperationsPerInvocation(CANDIDATES)
    public Object scan() {
        if (impl == Impl.NATIVE) {
            return scanNative();
        }
        if (table == Table.U8) {
            kernels.lutScanU8(codes, stride, CANDIDATES, levels, lutU8, sums);
            return sums;
        }
        kernels.lutScanF32(codes, stride, CANDIDATES, levels, 256, lut, out);
        return out;
    }

    private Object scanNative() {
        if (table == Table.U8) {
            NativeKernels.lutScanU8(codesSegment, stride, CANDIDATES, levels, lutU8Segment, sumsSegment);
            return sums;
        }
        NativeKernels.lutScanF32(codesSegment, stride, CANDIDATES, levels, 256, lutSegment, outSegment);
        return out;
    }
}
