package io.tarq.layout;

import io.tarq.layout.safetensors.TensorView;
import java.nio.file.Path;

/**
 * External int64 id → row, for the thousands of candidate ids a request resolves.
 *
 * <p>Open addressing with linear probing in one {@code long[]}: slot s holds the id at {@code 2s} and
 * {@code row + 1} at {@code 2s + 1} (0 marks an empty slot). Keeping id and row side by side means a lookup that
 * hits costs one cache miss, not two. Capacity is the power of two at or above 1.5 × N, so the load is at most 2/3
 * and probes stay short. Memory: 16 bytes a slot, 24 to 43 bytes an id.
 *
 * <p>A row needs 31 bits of its long, so the high 32 bits carry an optional <em>payload</em> per id, fixed at build
 * time: whatever a caller wants to arrive with the row at no extra cache miss (the engine keeps a candidate's L ≤ 4
 * codes there, see {@link TarqModelFile#itemIndex()}).
 *
 * <p>Built once at open time from the file's id tensor (nothing is stored in the file, so every producer writes the
 * same tensors); immutable afterwards, so any number of threads may read it.
 */
public final class IdIndex {
    /** What {@link #row(long)} returns for an id not in the index. */
    public static final int MISSING = -1;
    /** The most ids one index holds: 2 × capacity longs (capacity ≤ 2^29) must fit in one Java array. */
    public static final int MAX_IDS = (1 << 29) / 3 * 2;

    private final long[] slots;
    private final int mask;
    private final int size;

    private IdIndex(long[] slots, int size) {
        this.slots = slots;
        this.mask = slots.length / 2 - 1;
        this.size = size;
    }

    /**
     * Indexes the ids of an I64 tensor of shape [N] (row r holds id {@code ids[r]}). Reads every id once.
     *
     * @param file the model file, named in error messages
     * @param ids  the id tensor, I64
     * @return the index, with payload 0 for every id
     * @throws ModelFormatException  an id appears twice (the message names both rows), or the tensor holds more than
     *                               {@link #MAX_IDS} ids
     * @throws IllegalStateException {@code ids} is not I64, or its file is closed
     */
    public static IdIndex build(Path file, TensorView ids) throws ModelFormatException {
        return build(file, ids, null);
    }

    /**
     * As {@link #build(Path, TensorView)}, storing {@code payloads[row]} with each id (read back by
     * {@link #rows(long[], int, int, int[], int[])}); {@code null} stores 0.
     *
     * @param file     the model file, named in error messages
     * @param ids      the id tensor, I64
     * @param payloads one int a row, or null
     * @return the index
     * @throws ModelFormatException     an id appears twice (the message names both rows), or the tensor holds more
     *                                  than {@link #MAX_IDS} ids
     * @throws IllegalArgumentException {@code payloads} does not hold one int an id
     * @throws IllegalStateException    {@code ids} is not I64, or its file is closed
     */
    public static IdIndex build(Path file, TensorView ids, int[] payloads) throws ModelFormatException {
        long count = ids.elementCount();
        if (count > MAX_IDS) {
            throw ModelFormatException.ofTensor(file, ids.name(), count + " ids are more than an index holds (" + MAX_IDS + ")");
        }
        int n = (int) count;
        if (payloads != null && payloads.length != n) {
            throw new IllegalArgumentException(payloads.length + " payloads for " + n + " ids");
        }
        int capacity = Integer.highestOneBit(Math.max(2, n + n / 2 + 1) - 1) << 1;
        long[] slots = new long[2 * capacity];
        int mask = capacity - 1;
        for (int row = 0; row < n; row++) {
            long id = ids.getLong(row);
            int s = slot(id, mask);
            while (slots[2 * s + 1] != 0) {
                if (slots[2 * s] == id) {
                    throw ModelFormatException.ofTensor(file, ids.name(), "id " + id + " appears twice, at rows "
                            + rowOf(slots[2 * s + 1]) + " and " + row);
                }
                s = (s + 1) & mask;
            }
            slots[2 * s] = id;
            slots[2 * s + 1] = (payloads == null ? 0L : (long) payloads[row] << 32) | (row + 1L);
        }
        return new IdIndex(slots, n);
    }

    /**
     * Looks up one id. Allocates nothing.
     *
     * @param id an external id
     * @return its row, or {@link #MISSING}
     */
    public int row(long id) {
        return rowOf(entry(id));
    }

    /** The slot value of {@code id}: payload in the high 32 bits, row + 1 in the low ones; 0 when it is missing. */
    private long entry(long id) {
        return probe(id, slot(id, mask));
    }

    /** The slot value of {@code id}, probing from slot {@code s} (its home slot) on. */
    private long probe(long id, int s) {
        long[] slots = this.slots;
        while (true) {
            long entry = slots[2 * s + 1];
            if (entry == 0 || slots[2 * s] == id) {
                return entry;
            }
            s = (s + 1) & mask;
        }
    }

    /** The row in an entry, MISSING (-1) for the empty entry 0. */
    private static int rowOf(long entry) {
        return (int) entry - 1;
    }

    /**
     * Resolves {@code count} ids from {@code ids[from..]} into {@code rows[0..count)}, {@link #MISSING} for unknown
     * ones; returns how many were missing. Allocates nothing.
     *
     * @param ids   the ids to resolve
     * @param from  index in {@code ids} of the first one
     * @param count how many to resolve
     * @param rows  receives the rows, at least {@code count} long
     * @return how many of the ids were missing
     * @throws ArrayIndexOutOfBoundsException {@code ids} holds fewer than {@code from + count} ids, or {@code rows}
     *                                        fewer than {@code count} entries
     */
    public int rows(long[] ids, int from, int count, int[] rows) {
        return resolve(ids, from, count, rows, null);
    }

    /**
     * As {@link #rows(long[], int, int, int[])}, also filling {@code payloads[0..count)} with each id's payload (0 for
     * unknown ids): the payload shares the row's slot, so it costs no extra cache miss. Allocates nothing.
     *
     * @param ids      the ids to resolve
     * @param from     index in {@code ids} of the first one
     * @param count    how many to resolve
     * @param rows     receives the rows, at least {@code count} long
     * @param payloads receives the payloads, at least {@code count} long
     * @return how many of the ids were missing
     * @throws ArrayIndexOutOfBoundsException an array is too short for {@code from} and {@code count}
     */
    public int rows(long[] ids, int from, int count, int[] rows, int[] payloads) {
        return resolve(ids, from, count, rows, payloads);
    }

    /** Ids a stage of {@link #resolve} handles at once: their home slots' lines (16 KB) stay in L1 until probed. */
    private static final int CHUNK = 256;

    /**
     * Staged for memory-level parallelism, a chunk of ids at a time: their home slots hashed into {@code rows}, those
     * slots' lines touched, then each id probed from its home slot, on lines now in cache. A lookup in one loop keeps
     * fewer misses in flight than the table's size needs: the out-of-order window fills with a few dozen ids' hashing
     * and probing, and a probe that goes past the home slot (a quarter of them) is a mispredicted branch waiting on a
     * DRAM load. The touch loop is a handful of instructions an id, so several times as many of its loads are in
     * flight at once.
     */
    private int resolve(long[] ids, int from, int count, int[] rows, int[] payloads) {
        long[] slots = this.slots;
        int mask = this.mask;
        int missing = 0;
        for (int start = 0; start < count; start += CHUNK) {
            int end = Math.min(count, start + CHUNK);
            for (int i = start; i < end; i++) {
                rows[i] = slot(ids[from + i], mask); // the home slot, until the row replaces it
            }
            int lastHome = rows[end - 1];
            // The touched loads must be consumed to stay: their sum goes where the last row will.
            rows[end - 1] = touchEntries(slots, rows, start, end);
            for (int i = start; i < end; i++) {
                long entry = probe(ids[from + i], i == end - 1 ? lastHome : rows[i]);
                int row = rowOf(entry);
                rows[i] = row;
                if (payloads != null) {
                    payloads[i] = (int) (entry >>> 32);
                }
                missing += row >>> 31; // 1 for MISSING (-1), 0 for a row
            }
        }
        return missing;
    }

    /** Loads the entry of each home slot in {@code homes[start..end)}; returns their (meaningless) sum. */
    private static int touchEntries(long[] slots, int[] homes, int start, int end) {
        long sum = 0;
        for (int i = start; i < end; i++) {
            sum += slots[2 * homes[i] + 1];
        }
        return (int) sum;
    }

    /**
     * Returns the number of ids indexed.
     *
     * @return N, the id tensor's length
     */
    public int size() {
        return size;
    }

    /**
     * Returns the heap bytes the table holds.
     *
     * @return 16 bytes a slot
     */
    public long byteSize() {
        return 8L * slots.length;
    }

    /** Stafford's variant 13 of the MurmurHash3 finalizer: sequential ids spread over all slots. */
    private static int slot(long id, int mask) {
        long z = id;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        z = z ^ (z >>> 31);
        return (int) z & mask;
    }
}
