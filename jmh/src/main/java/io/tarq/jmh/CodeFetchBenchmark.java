package io.tarq.jmh;

import io.tarq.layout.Layouts;
import java.lang.foreign.Arena;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Fetching one request's codes from a catalog of {@code items} items (random rows) into the level-major block the scan
 * reads, per candidate: from the candidate-major copy the engine keeps ({@code [N][L]}, one cache line a candidate)
 * and, for comparison, straight from the file's level-major {@code item.codes} ({@code [L][N]}, L lines).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CodeFetchBenchmark {
    public enum Order { CANDIDATE_MAJOR, LEVEL_MAJOR }

    static final int CANDIDATES = 5000;
    static final int LEVELS = 3;

    @Param({"CANDIDATE_MAJOR", "LEVEL_MAJOR"})
    public Order order;

    @Param({"1000000", "10000000"})
    public int items;

    private Arena arena;
    private MemorySegment codes;
    private int[][] requests;
    private byte[] block;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        codes = arena.allocate((long) items * LEVELS, 64);
        SplittableRandom random = new SplittableRandom(5);
        for (long i = 0; i < codes.byteSize(); i++) {
            codes.set(Layouts.U8, i, (byte) random.nextInt(256));
        }
        requests = new int[32][];
        for (int r = 0; r < requests.length; r++) {
            requests[r] = random.ints(CANDIDATES, 0, items).toArray();
        }
        block = new byte[LEVELS * ((CANDIDATES + 63) & ~63)];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    @OperationsPerInvocation(CANDIDATES)
    public byte[] fetch() {
        int[] rows = requests[next++ & 31];
        int stride = (CANDIDATES + 63) & ~63;
        if (order == Order.CANDIDATE_MAJOR) {
            for (int i = 0; i < CANDIDATES; i++) {
                long base = (long) rows[i] * LEVELS;
                for (int l = 0; l < LEVELS; l++) {
                    block[l * stride + i] = codes.get(Layouts.U8, base + l);
                }
            }
        } else {
            for (int l = 0; l < LEVELS; l++) {
                long level = (long) l * items;
                for (int i = 0; i < CANDIDATES; i++) {
                    block[l * stride + i] = codes.get(Layouts.U8, level + rows[i]);
                }
            }
        }
        return block;
    }
}
