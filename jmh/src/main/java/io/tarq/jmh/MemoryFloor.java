package io.tarq.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * The memory floor of a request's candidates, to interleave with the engine's requests
 * ({@link InterleavedModesBenchmark}'s {@code FLOOR_*} modes) so that engine and floor see the same phases of the
 * machine: every candidate reads a random 16-byte id slot from a table the size of the item index, then touches one
 * float of each 64-byte line of the row the slot names, in a table of N rows as wide as the engine's. As in
 * {@link MemoryFloorBenchmark}, all slots of a request are read before any row, as the engine resolves ids; nothing
 * else is computed. Without slots ({@link #rowsOnly}) it is the floor of the rows API, whose callers pass rows.
 */
final class MemoryFloor implements AutoCloseable {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment slots;  // [capacity][2]: (id, row + 1), capacity as IdIndex's for N ids
    private final MemorySegment rows;   // [N][rowBytes]
    private final long rowBytes;
    private final long[][] slotOffsets; // [request][candidate]: the byte offset of the candidate's slot
    private final int[][] givenRows;    // [request][candidate]: the rows themselves, when there are no slots to read
    private final int[] resolved;

    /**
     * Tables for {@code items} rows of {@code rowBytes}, and {@code requests} requests of {@code candidates} random
     * candidates each.
     */
    MemoryFloor(int items, long rowBytes, int requests, int candidates, long seed) {
        this(items, rowBytes, requests, candidates, seed, true);
    }

    /** As the id path's floor, with no id slots: each request's candidates are random rows, as the rows API takes. */
    static MemoryFloor rowsOnly(int items, long rowBytes, int requests, int candidates, long seed) {
        return new MemoryFloor(items, rowBytes, requests, candidates, seed, false);
    }

    private MemoryFloor(int items, long rowBytes, int requests, int candidates, long seed, boolean withSlots) {
        this.rowBytes = rowBytes;
        rows = arena.allocate(items * rowBytes, 4096);
        for (long o = 0; o < rows.byteSize(); o += 4) {
            rows.set(FLOAT, o, (float) (o & 1023));
        }
        SplittableRandom random = new SplittableRandom(seed);
        if (!withSlots) {
            slots = null;
            slotOffsets = null;
            givenRows = new int[requests][];
            for (int r = 0; r < requests; r++) {
                givenRows[r] = random.ints(candidates, 0, items).toArray();
            }
            resolved = null;
            return;
        }
        givenRows = null;
        long capacity = Long.highestOneBit(Math.max(8, items + items / 2 + 1) - 1) << 1; // as IdIndex's for N ids
        slots = arena.allocate(capacity * 16, 64);
        slotOffsets = new long[requests][candidates];
        for (long[] request : slotOffsets) {
            for (int i = 0; i < candidates; i++) {
                long offset = random.nextLong(capacity) * 16;
                request[i] = offset;
                slots.set(LONG, offset, 1000L + i);                        // an id
                slots.set(LONG, offset + 8, random.nextInt(items) + 1L); // row + 1, as IdIndex stores it
            }
        }
        resolved = new int[candidates];
    }

    /** Request r: every candidate's slot, then every candidate's row (or the rows alone); returns a sum of what was read. */
    float request(int r) {
        if (givenRows != null) {
            return touchRows(rows, rowBytes, givenRows[r], givenRows[r].length);
        }
        long[] offsets = slotOffsets[r];
        int count = offsets.length;
        for (int i = 0; i < count; i++) {
            resolved[i] = (int) slots.get(LONG, offsets[i] + 8) - 1;
        }
        return touchRows(rows, rowBytes, resolved, count);
    }

    /**
     * One float of every 64-byte line of rows[0..count) of {@code table}, summed. A row's lines are loaded by
     * straight-line code, up to four a pass over the rows: a loop over a row's lines keeps a third as many misses in
     * flight as the same loads written out, so it would be no floor.
     */
    static float touchRows(MemorySegment table, long rowBytes, int[] rows, int count) {
        long lines = (rowBytes + 63) / 64;
        float sum = 0;
        for (long first = 0; first < lines; first += 4) {
            long at = 64 * first;
            switch ((int) Math.min(4, lines - first)) {
                case 1 -> {
                    for (int i = 0; i < count; i++) {
                        sum += table.get(FLOAT, rows[i] * rowBytes + at);
                    }
                }
                case 2 -> {
                    for (int i = 0; i < count; i++) {
                        long b = rows[i] * rowBytes + at;
                        sum += table.get(FLOAT, b) + table.get(FLOAT, b + 64);
                    }
                }
                case 3 -> {
                    for (int i = 0; i < count; i++) {
                        long b = rows[i] * rowBytes + at;
                        sum += table.get(FLOAT, b) + table.get(FLOAT, b + 64) + table.get(FLOAT, b + 128);
                    }
                }
                default -> {
                    for (int i = 0; i < count; i++) {
                        long b = rows[i] * rowBytes + at;
                        sum += table.get(FLOAT, b) + table.get(FLOAT, b + 64) + table.get(FLOAT, b + 128)
                                + table.get(FLOAT, b + 192);
                    }
                }
            }
        }
        return sum;
    }

    @Override
    public void close() {
        arena.close();
    }
}
