package io.tarq.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The hardware's floor for a pre-ranking candidate: what the memory system gives for the accesses the engine's id
 * path makes, in a deliberately minimal loop. Each operation is one candidate of a batch of {@value #BATCH}; every
 * batch draws fresh random rows over the whole table (64 batches rotate, 3.2M draws), so the rows come from DRAM as
 * a large request's do, not from a cache a benchmark warmed.
 *
 * <ul>
 *   <li>{@code LINE}: one random 64-byte line of the row table, all loads independent (the random-access throughput);
 *   <li>{@code SLOT}: the id index's slot alone (16 bytes of a {@code long[]} of 2 × capacity, as {@code IdIndex});
 *   <li>{@code SLOT_FLOAT_ROW}: every slot of the batch first, then each candidate's float row (d_v = 64: 256 bytes,
 *       four lines): TT's id path with {@code item.vec};
 *   <li>{@code SLOT_BYTE_ROW}: the same with a 64-byte row (one line): TT's id path with the 8-bit copy;
 *   <li>{@code SLOT_BYTE_ROW_CROSS_ROW}: the 8-bit row and a second random 64-byte row ({@code item.cross} at
 *       dx = 16) from another table: TARQ's id path with the cross head today;
 *   <li>{@code SLOT_RECORD_128}: one 128-byte record a candidate (8-bit row and cross row adjacent, two lines).
 * </ul>
 * A row's lines are loaded one float each and summed: enough to bring the line, nothing else.
 *
 * <pre>./tarq jmh MemoryFloorBenchmark -p items=1000000,10000000</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(org.openjdk.jmh.annotations.Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MemoryFloorBenchmark {
    static final int BATCH = 50_000;
    static final int BATCHES = 64;

    public enum Access { LINE, SLOT, SLOT_FLOAT_ROW, SLOT_BYTE_ROW, SLOT_BYTE_ROW_CROSS_ROW, SLOT_RECORD_128 }

    @Param({"LINE", "SLOT", "SLOT_FLOAT_ROW", "SLOT_BYTE_ROW", "SLOT_BYTE_ROW_CROSS_ROW", "SLOT_RECORD_128"})
    public Access access;

    @Param({"1000000"})
    public int items;

    private Arena arena;
    private MemorySegment rows;      // [N][rowBytes]
    private MemorySegment crossRows; // [N][64], only for SLOT_BYTE_ROW_CROSS_ROW
    private long rowBytes;
    private long[] slots;            // as IdIndex: id at 2s, row + 1 at 2s + 1
    private int[][] slotOf;          // [BATCHES][BATCH] the slot each candidate's id hashes to
    private int[][] rowOf;           // [BATCHES][BATCH] a uniform random row
    private final int[] resolved = new int[BATCH];
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        rowBytes = switch (access) {
            case SLOT_FLOAT_ROW -> 256;
            case SLOT_RECORD_128 -> 128;
            default -> 64;
        };
        arena = Arena.ofShared();
        rows = fill(arena.allocate((long) items * rowBytes, 4096));
        if (access == Access.SLOT_BYTE_ROW_CROSS_ROW) {
            crossRows = fill(arena.allocate((long) items * 64, 4096));
        }
        int capacity = Integer.highestOneBit(Math.max(2, items + items / 2 - 1)) << 1; // IdIndex: ≥ 1.5 N
        slots = new long[2 * capacity];
        SplittableRandom random = new SplittableRandom(42);
        slotOf = new int[BATCHES][BATCH];
        rowOf = new int[BATCHES][BATCH];
        for (int b = 0; b < BATCHES; b++) {
            for (int i = 0; i < BATCH; i++) {
                int row = random.nextInt(items);
                int slot = random.nextInt(capacity);
                rowOf[b][i] = row;
                slotOf[b][i] = slot;
                slots[2 * slot] = row + 1000L;      // an id
                slots[2 * slot + 1] = row + 1L;     // row + 1, as IdIndex stores it
            }
        }
    }

    private static MemorySegment fill(MemorySegment segment) {
        for (long o = 0; o < segment.byteSize(); o += 4) {
            segment.set(ValueLayout.JAVA_FLOAT_UNALIGNED, o, (float) (o & 1023));
        }
        return segment;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public float candidate() {
        int b = next++ & (BATCHES - 1);
        int[] slotIndex = slotOf[b];
        return switch (access) {
            case LINE -> lines(rowOf[b]);
            case SLOT -> slotsOnly(slotIndex);
            case SLOT_FLOAT_ROW, SLOT_BYTE_ROW, SLOT_RECORD_128 -> {
                resolve(slotIndex);
                yield touchRows(rows, rowBytes);
            }
            case SLOT_BYTE_ROW_CROSS_ROW -> {
                resolve(slotIndex);
                yield touchRows(rows, rowBytes) + touchRows(crossRows, 64);
            }
        };
    }

    private float lines(int[] rowIndex) {
        float sum = 0;
        for (int i = 0; i < BATCH; i++) {
            sum += rows.get(ValueLayout.JAVA_FLOAT_UNALIGNED, rowIndex[i] * rowBytes);
        }
        return sum;
    }

    private float slotsOnly(int[] slotIndex) {
        long sum = 0;
        for (int i = 0; i < BATCH; i++) {
            sum += slots[2 * slotIndex[i] + 1];
        }
        return sum;
    }

    /** Every slot of the batch before any row, as the engine resolves ids. */
    private void resolve(int[] slotIndex) {
        for (int i = 0; i < BATCH; i++) {
            resolved[i] = (int) slots[2 * slotIndex[i] + 1] - 1;
        }
    }

    private float touchRows(MemorySegment table, long bytes) {
        return MemoryFloor.touchRows(table, bytes, resolved, BATCH);
    }
}
