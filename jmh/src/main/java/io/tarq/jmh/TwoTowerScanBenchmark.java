package io.tarq.jmh;

import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.ScalarKernels;
import io.tarq.engine.kernel.panama.PanamaKernels;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
 * The two-tower scan ({@code dotRows}: one 64-float {@code item.vec} row a candidate, random rows of the mapped file
 * of a 1M-item model), per candidate: the engine's kernels, and for comparison the same loop with the Vector API's
 * own {@code reduceLanes} (faster, but its float sum changes bits when C2 compiles it) and with no arithmetic at all
 * (touching the row's four cache lines: the memory floor). The {@code SQ8_*} variants scan 64-byte rows of a random
 * 8-bit table of the same 1M rows, as {@code ItemVectors.SQ8} does ({@code dotRowsSq8}); {@code SQ8_TOUCH_ONLY} touches
 * the row's one cache line.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TwoTowerScanBenchmark {
    public enum Variant { SCALAR, PANAMA, REDUCE_LANES, TOUCH_ONLY, SQ8_SCALAR, SQ8_PANAMA, SQ8_TOUCH_ONLY }

    static final int CANDIDATES = 5000;
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

    @Param({"SCALAR", "PANAMA", "REDUCE_LANES", "TOUCH_ONLY", "SQ8_SCALAR", "SQ8_PANAMA", "SQ8_TOUCH_ONLY"})
    public Variant variant;

    /**
     * Random requests in rotation: 32 touch 160k distinct rows (40 MB, partly L3-resident); 2048 touch nearly every
     * row of the 256 MB table (DRAM, as whole requests at large M see it).
     */
    @Param({"32"})
    public int requestCount;

    private TarqModelFile model;
    private MemorySegment vec;
    private Arena arena;
    private MemorySegment sq8;
    private KernelSupport kernels;
    private int[][] requests;
    private float[] u;
    private float[] out;
    private int next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        model = TarqModelFile.open(Models.synthetic(SyntheticModelSpec.defaults(1_000_000)));
        vec = model.tensor(TarqTensors.ITEM_VEC).segment();
        kernels = variant == Variant.SCALAR || variant == Variant.SQ8_SCALAR ? ScalarKernels.INSTANCE : new PanamaKernels();
        SplittableRandom random = new SplittableRandom(4);
        arena = Arena.ofShared();
        if (variant.name().startsWith("SQ8_")) { // 64 MB of random rows, only for the variants that scan them
            sq8 = arena.allocate(64L * 1_000_000, 64);
            for (long b = 0; b < sq8.byteSize(); b += 8) {
                sq8.set(ValueLayout.JAVA_LONG_UNALIGNED, b, random.nextLong());
            }
        }
        requests = new int[requestCount][];
        for (int r = 0; r < requests.length; r++) {
            requests[r] = random.ints(CANDIDATES, 0, 1_000_000).toArray();
        }
        u = new float[64];
        for (int i = 0; i < u.length; i++) {
            u[i] = (float) random.nextGaussian();
        }
        out = new float[CANDIDATES];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
        arena.close();
    }

    @Benchmark
    @OperationsPerInvocation(CANDIDATES)
    public float[] scan() {
        int[] rows = requests[next];
        next = (next + 1) % requestCount;
        switch (variant) {
            case SCALAR, PANAMA -> kernels.dotRows(vec, 64, rows, CANDIDATES, u, 5f, -1f, out);
            case REDUCE_LANES -> reduceLanes(rows);
            case TOUCH_ONLY -> touch(rows);
            case SQ8_SCALAR, SQ8_PANAMA -> kernels.dotRowsSq8(sq8, 64, rows, CANDIDATES, u, 5f, -1f, out);
            case SQ8_TOUCH_ONLY -> touchSq8(rows);
        }
        return out;
    }

    private void reduceLanes(int[] rows) {
        for (int i = 0; i < CANDIDATES; i++) {
            long base = rows[i] * 256L;
            FloatVector acc = FloatVector.zero(FLOATS);
            for (int j = 0; j < 64; j += FLOATS.length()) {
                acc = FloatVector.fromMemorySegment(FLOATS, vec, base + 4L * j, ByteOrder.LITTLE_ENDIAN).fma(FloatVector.fromArray(FLOATS, u, j), acc);
            }
            out[i] = 5f * acc.reduceLanes(VectorOperators.ADD) - 1f;
        }
    }

    private void touchSq8(int[] rows) {
        for (int i = 0; i < CANDIDATES; i++) {
            out[i] = sq8.get(ValueLayout.JAVA_BYTE, rows[i] * 64L);
        }
    }

    private void touch(int[] rows) {
        for (int i = 0; i < CANDIDATES; i++) {
            long base = rows[i] * 256L;
            out[i] = vec.get(io.tarq.layout.Layouts.F32, base) + vec.get(io.tarq.layout.Layouts.F32, base + 64)
                    + vec.get(io.tarq.layout.Layouts.F32, base + 128) + vec.get(io.tarq.layout.Layouts.F32, base + 192);
        }
    }
}
