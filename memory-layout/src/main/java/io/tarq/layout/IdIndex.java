package io.tarq.layout;

import io.tarq.layout.safetensors.TensorView;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * External int64 id → row, for the thousands of candidate ids a request resolves.
 *
 * <p>Open addressing over 64-byte buckets of four 16-byte slots, each holding an id and {@code row + 1} (0 marks an
 * empty slot), aligned to cache lines off the heap. A lookup reads its home bucket's four slots, one cache line, and
 * picks the match without a branch; it goes on to the next bucket only when the home bucket is full and does not
 * hold the id, which few ids do (3.5% of 1M ids). That is the point of the buckets: with linear probing over single
 * slots, a quarter to a half of the ids sit past their home slot (24% of 1M ids), and each of those mispredicts a
 * branch that waits on a cache miss, so the lookups of a request stop overlapping (see docs/benchmarks.md). Capacity is the power of
 * two at or above 1.5 × N slots, so the load is at most 2/3. Memory: 16 bytes a slot, 24 to 43 bytes an id.
 *
 * <p>A row needs 31 bits of its long, so the high 32 bits carry an optional <em>payload</em> per id, fixed at build
 * time: whatever a caller wants to arrive with the row at no extra cache miss (the engine keeps a candidate's L ≤ 4
 * codes there, see {@link TarqModelFile#itemIndex()}).
 *
 * <p>Built once at open time from the file's id tensor (nothing is stored in the file, so every producer writes the
 * same tensors); immutable afterwards, so any number of threads may read it. The buckets live in an automatic arena:
 * the garbage collector frees them with the index, so no lookup can reach freed memory.
 */
public final class IdIndex {
    /** What {@link #row(long)} returns for an id not in the index. */
    public static final int MISSING = -1;
    /** The most ids one index holds (capacity ≤ 2^29 slots). */
    public static final int MAX_IDS = (1 << 29) / 3 * 2;

    private static final ValueLayout.OfLong SLOT_LONG = ValueLayout.JAVA_LONG;
    private static final int SLOTS_PER_BUCKET = 4;
    private static final long BUCKET_BYTES = 64;

    private final MemorySegment buckets; // [capacity / 4][4] × (id, payload << 32 | row + 1)
    private final long mask;             // buckets - 1
    private final int size;

    private IdIndex(MemorySegment buckets, int size) {
        this.buckets = buckets;
        this.mask = buckets.byteSize() / BUCKET_BYTES - 1;
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
        long capacity = Long.highestOneBit(Math.max(2 * SLOTS_PER_BUCKET, n + n / 2 + 1) - 1) << 1;
        MemorySegment buckets = Arena.ofAuto().allocate(capacity * 16, BUCKET_BYTES); // zeroed: every slot empty
        long mask = capacity / SLOTS_PER_BUCKET - 1;
        for (int row = 0; row < n; row++) {
            long id = ids.getLong(row);
            long offset = freeSlot(file, ids.name(), buckets, mask, id, row);
            buckets.set(SLOT_LONG, offset, id);
            buckets.set(SLOT_LONG, offset + 8, (payloads == null ? 0L : (long) payloads[row] << 32) | (row + 1L));
        }
        return new IdIndex(buckets, n);
    }

    /** The byte offset of the first empty slot on id's probe path; refuses an id already on it. */
    private static long freeSlot(Path file, String tensor, MemorySegment buckets, long mask, long id, int row)
            throws ModelFormatException {
        long b = bucket(id, mask);
        while (true) {
            for (long offset = b * BUCKET_BYTES, end = offset + BUCKET_BYTES; offset < end; offset += 16) {
                long entry = buckets.get(SLOT_LONG, offset + 8);
                if (entry == 0) {
                    return offset;
                }
                if (buckets.get(SLOT_LONG, offset) == id) {
                    throw ModelFormatException.ofTensor(file, tensor, "id " + id + " appears twice, at rows "
                            + rowOf(entry) + " and " + row);
                }
            }
            b = (b + 1) & mask;
        }
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
        MemorySegment buckets = this.buckets;
        long b = bucket(id, mask);
        while (true) {
            long base = b * BUCKET_BYTES;
            long e0 = buckets.get(SLOT_LONG, base + 8), e1 = buckets.get(SLOT_LONG, base + 24);
            long e2 = buckets.get(SLOT_LONG, base + 40), e3 = buckets.get(SLOT_LONG, base + 56);
            // At most one slot holds the id with a nonzero entry; an empty slot (id 0, entry 0) adds nothing, even
            // when the id looked up is 0.
            long entry = (buckets.get(SLOT_LONG, base) == id ? e0 : 0)
                    | (buckets.get(SLOT_LONG, base + 16) == id ? e1 : 0)
                    | (buckets.get(SLOT_LONG, base + 32) == id ? e2 : 0)
                    | (buckets.get(SLOT_LONG, base + 48) == id ? e3 : 0);
            // Slots fill in order and never empty, so a bucket with a free last slot never sent an id further.
            if (entry != 0 || e3 == 0) {
                return entry;
            }
            b = (b + 1) & mask;
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
        int missing = 0;
        for (int i = 0; i < count; i++) {
            int row = row(ids[from + i]);
            rows[i] = row;
            missing += row >>> 31; // 1 for MISSING (-1), 0 for a row
        }
        return missing;
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
        int missing = 0;
        for (int i = 0; i < count; i++) {
            long entry = entry(ids[from + i]);
            int row = rowOf(entry);
            rows[i] = row;
            payloads[i] = (int) (entry >>> 32);
            missing += row >>> 31;
        }
        return missing;
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
        return buckets.byteSize();
    }

    /** Stafford's variant 13 of the MurmurHash3 finalizer: sequential ids spread over all slots. */
    private static long bucket(long id, long mask) {
        long z = id;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        z = z ^ (z >>> 31);
        return z & mask;
    }
}
