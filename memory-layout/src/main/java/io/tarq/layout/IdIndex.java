package io.tarq.layout;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.tarq.layout.safetensors.TensorView;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * External int64 id → row, for the thousands of candidate ids a request resolves.
 *
 * <p>Open addressing over buckets of four 16-byte slots, each bucket one 64-byte cache line of an off-heap segment
 * aligned to 64 bytes: a slot holds the id, then {@code row + 1} (0 marks an empty slot). An id hashes to its home
 * bucket and is stored in the first empty slot from that bucket's first slot on, into the next buckets when it is
 * full, so the occupied slots of every bucket are a prefix of it. A lookup reads the whole home line and picks the
 * matching slot without a branch; only when the home bucket is full and holds no match does it go on to the next.
 * Capacity is the power of two at or above 1.5 × N slots, so the load is at most 2/3: 3.5% of 1M ids and 6.9% of
 * 10M ids are outside their home bucket, where linear probing from a home slot leaves about a quarter outside it and
 * some of those on the next line. Memory: 16 bytes a slot, 24 to 43 bytes an id.
 *
 * <p>A row needs 31 bits of its long, so the high 32 bits carry an optional <em>payload</em> per id, fixed at build
 * time: whatever a caller wants to arrive with the row at no extra cache miss (the engine keeps a candidate's L ≤ 4
 * codes there, see {@link TarqModelFile#itemIndex()}).
 *
 * <p>Built once at open time from the file's id tensor (nothing is stored in the file, so every producer writes the
 * same tensors); immutable afterwards, so any number of threads may read it. The table lives in the arena it was built
 * in: {@link TarqModelFile} builds its indexes in one of its own, freed when the file closes; lookups after that throw
 * {@link IllegalStateException}, as its tensor views do.
 */
public final class IdIndex {
    /** What {@link #row(long)} returns for an id not in the index. */
    public static final int MISSING = -1;
    /** The most ids one index holds: its capacity (≤ 2^29 slots, 8 GiB) keeps slot numbers in an int. */
    public static final int MAX_IDS = (1 << 29) / 3 * 2;

    /** Bytes a slot (the id, then the entry) and a bucket (one cache line). */
    private static final int SLOT = 16, BUCKET = 64;
    /** Offset in a bucket of its last slot's entry: 0 there means the bucket has an empty slot. */
    private static final long LAST_ENTRY = BUCKET - 8;

    /** buckets[B][4] of {id, entry}, B a power of two. */
    private final MemorySegment table;
    private final int bucketMask;
    private final int size;

    private IdIndex(MemorySegment table, int size) {
        this.table = table;
        this.bucketMask = (int) (table.byteSize() / BUCKET) - 1;
        this.size = size;
    }

    /**
     * Indexes the ids of an I64 tensor of shape [N] (row r holds id {@code ids[r]}). Reads every id once. The table is
     * freed once the index is unreachable ({@link Arena#ofAuto()}).
     *
     * @param file the model file, named in error messages
     * @param ids  the id tensor, I64
     * @return the index, with payload 0 for every id
     * @throws ModelFormatException  an id appears twice (the message names both rows), or the tensor holds more than
     *                               {@link #MAX_IDS} ids
     * @throws IllegalStateException {@code ids} is not I64, or its file is closed
     */
    public static IdIndex build(Path file, TensorView ids) throws ModelFormatException {
        return build(file, ids, null, Arena.ofAuto());
    }

    /**
     * As {@link #build(Path, TensorView)}, storing {@code payloads[row]} with each id (read back by
     * {@link #rows(long[], int, int, int[], int[])}); {@code null} stores 0.
     *
     * @param file     the model file, named in error messages
     * @param ids      the id tensor, I64
     * @param payloads one int a row, or null
     * @param arena    the arena the table is allocated in: the index can be read until it closes
     * @return the index
     * @throws ModelFormatException     an id appears twice (the message names both rows), or the tensor holds more
     *                                  than {@link #MAX_IDS} ids
     * @throws IllegalArgumentException {@code payloads} does not hold one int an id
     * @throws IllegalStateException    {@code ids} is not I64, its file is closed, or {@code arena} is closed
     */
    public static IdIndex build(Path file, TensorView ids, int[] payloads, Arena arena) throws ModelFormatException {
        long count = ids.elementCount();
        if (count > MAX_IDS) {
            throw ModelFormatException.ofTensor(file, ids.name(), count + " ids are more than an index holds (" + MAX_IDS + ")");
        }
        int n = (int) count;
        if (payloads != null && payloads.length != n) {
            throw new IllegalArgumentException(payloads.length + " payloads for " + n + " ids");
        }
        int capacity = Integer.highestOneBit(Math.max(4, n + n / 2 + 1) - 1) << 1; // slots, at least one bucket
        MemorySegment table = arena.allocate((long) SLOT * capacity, BUCKET); // zeroed: every slot empty
        int slotMask = capacity - 1;
        for (int row = 0; row < n; row++) {
            long id = ids.getLong(row);
            int s = home(id, capacity / 4 - 1) * 4;
            long entry;
            while ((entry = table.get(JAVA_LONG, (long) SLOT * s + 8)) != 0) {
                if (table.get(JAVA_LONG, (long) SLOT * s) == id) {
                    throw ModelFormatException.ofTensor(file, ids.name(), "id " + id + " appears twice, at rows "
                            + rowOf(entry) + " and " + row);
                }
                s = (s + 1) & slotMask;
            }
            table.set(JAVA_LONG, (long) SLOT * s, id);
            table.set(JAVA_LONG, (long) SLOT * s + 8, (payloads == null ? 0L : (long) payloads[row] << 32) | (row + 1L));
        }
        return new IdIndex(table, n);
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
        return probe(id, home(id, bucketMask));
    }

    /** The slot value of {@code id}, looking from bucket {@code b} (its home bucket) on. */
    private long probe(long id, int b) {
        while (true) {
            long base = (long) b * BUCKET;
            long entry = match(base, id);
            if (entry != 0 || table.get(JAVA_LONG, base + LAST_ENTRY) == 0) {
                return entry;
            }
            b = (b + 1) & bucketMask;
        }
    }

    /**
     * The entry of the slot holding {@code id} in the bucket at {@code base}, 0 if none: each slot's entry masked by
     * whether its id matches, and the four or-ed (ids are distinct; an empty slot's entry is 0 whatever its id).
     * Without a branch, because which slot holds an id is a coin toss the predictor would lose.
     */
    private long match(long base, long id) {
        MemorySegment t = table;
        long d0 = t.get(JAVA_LONG, base) ^ id, d1 = t.get(JAVA_LONG, base + 16) ^ id;
        long d2 = t.get(JAVA_LONG, base + 32) ^ id, d3 = t.get(JAVA_LONG, base + 48) ^ id;
        return t.get(JAVA_LONG, base + 8) & ~((d0 | -d0) >> 63)
                | t.get(JAVA_LONG, base + 24) & ~((d1 | -d1) >> 63)
                | t.get(JAVA_LONG, base + 40) & ~((d2 | -d2) >> 63)
                | t.get(JAVA_LONG, base + 56) & ~((d3 | -d3) >> 63);
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

    /** Ids a stage of {@link #resolve} handles at once: their home lines (16 KB) stay in L1 until matched. */
    private static final int CHUNK = 256;

    /**
     * Staged for memory-level parallelism, a chunk of ids at a time: their home buckets hashed into {@code rows},
     * those buckets' lines touched, then each id matched in its home bucket, on lines now in cache. A lookup in one
     * loop keeps fewer misses in flight than the table's size needs: the out-of-order window fills with a few dozen
     * ids' hashing and matching. The touch loop is a handful of instructions an id, so several times as many of its
     * loads are in flight at once.
     */
    private int resolve(long[] ids, int from, int count, int[] rows, int[] payloads) {
        MemorySegment table = this.table;
        int bucketMask = this.bucketMask;
        int missing = 0;
        for (int start = 0; start < count; start += CHUNK) {
            int end = Math.min(count, start + CHUNK);
            for (int i = start; i < end; i++) {
                rows[i] = home(ids[from + i], bucketMask); // the home bucket, until the row replaces it
            }
            int lastHome = rows[end - 1];
            // The touched loads must be consumed to stay: their sum goes where the last row will.
            rows[end - 1] = touchLines(table, rows, start, end);
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

    /** Loads the first entry of each bucket in {@code buckets[start..end)}; returns their (meaningless) sum. */
    private static int touchLines(MemorySegment table, int[] buckets, int start, int end) {
        long sum = 0;
        for (int i = start; i < end; i++) {
            sum += table.get(JAVA_LONG, (long) buckets[i] * BUCKET + 8);
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
     * Returns the bytes the table holds (off the heap).
     *
     * @return 16 bytes a slot
     */
    public long byteSize() {
        return table.byteSize();
    }

    /** Stafford's variant 13 of the MurmurHash3 finalizer: sequential ids spread over all buckets. */
    private static int home(long id, int mask) {
        long z = id;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        z = z ^ (z >>> 31);
        return (int) z & mask;
    }
}
