package io.tarq.layout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.layout.safetensors.SafetensorsFile;
import io.tarq.layout.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IdIndexTest {
    @TempDir
    Path dir;

    private IdIndex index(long[] ids) throws IOException {
        return index(ids, null);
    }

    private IdIndex index(long[] ids, int[] payloads) throws IOException {
        Path file = dir.resolve("ids.safetensors");
        new SafetensorsWriter().addLongs("ids", new long[] {ids.length}, ids).write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return IdIndex.build(file, f.tensor("ids"), payloads, Arena.ofAuto());
        }
    }

    /** Agrees with a HashMap on random ids (extremes and sequences included) and on ids it does not hold. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 7, 100, 1000, 65_537})
    void agreesWithAHashMap(int n) throws IOException {
        SplittableRandom random = new SplittableRandom(n);
        Map<Long, Integer> expected = new HashMap<>();
        long[] ids = new long[n];
        for (int row = 0; row < n; row++) {
            long id;
            do {
                id = switch (row % 4) {
                    case 0 -> random.nextLong();
                    case 1 -> row; // dense small ids collide in weak hashes
                    case 2 -> (long) row << 32;
                    default -> row == 3 ? Long.MIN_VALUE : row == 7 ? Long.MAX_VALUE : -row;
                };
            } while (expected.containsKey(id));
            ids[row] = id;
            expected.put(id, row);
        }
        IdIndex index = index(ids);
        assertEquals(n, index.size());
        for (int row = 0; row < n; row++) {
            assertEquals(row, index.row(ids[row]));
        }
        long[] batch = new long[n + 10_000];
        System.arraycopy(ids, 0, batch, 0, n);
        for (int i = 0; i < 10_000; i++) {
            long probe = random.nextLong();
            assertEquals(expected.getOrDefault(probe, IdIndex.MISSING), index.row(probe));
            batch[n + i] = i % 2 == 0 ? probe : n + i; // absent ids whose home slots are taken, or not
        }
        // The batch lookups, with and without payloads, agree id for id, in any order.
        for (int i = batch.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            long t = batch[i];
            batch[i] = batch[j];
            batch[j] = t;
        }
        int[] rows = new int[batch.length];
        int[] payloads = new int[batch.length];
        int missing = 0;
        for (long id : batch) {
            missing += expected.containsKey(id) ? 0 : 1;
        }
        assertEquals(missing, index.rows(batch, 0, batch.length, rows));
        for (int i = 0; i < batch.length; i++) {
            assertEquals(expected.getOrDefault(batch[i], IdIndex.MISSING), rows[i], "id " + batch[i]);
        }
        Arrays.fill(rows, 7);
        assertEquals(missing, index.rows(batch, 0, batch.length, rows, payloads));
        for (int i = 0; i < batch.length; i++) {
            assertEquals(expected.getOrDefault(batch[i], IdIndex.MISSING), rows[i], "id " + batch[i] + " with payloads");
            assertEquals(0, payloads[i]);
        }
        assertTrue(index.byteSize() >= 16L * n * 3 / 2, "load factor at most 2/3");
    }

    /**
     * The batch lookup works a chunk of ids at a time: counts around the chunk's size, from an offset, give what one id
     * at a time gives, with and without payloads, known and unknown ids mixed; nothing past count is written.
     */
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 255, 256, 257, 511, 512, 513, 1000})
    void batchesOfAnySizeAgreeWithOneIdAtATime(int count) throws IOException {
        SplittableRandom random = new SplittableRandom(count);
        int n = 3000;
        long[] ids = random.longs(n).distinct().toArray();
        int[] payloadOf = random.ints(ids.length).toArray();
        IdIndex index = index(ids, payloadOf);
        int from = 3;
        long[] batch = new long[from + count + 2];
        for (int i = 0; i < batch.length; i++) {
            batch[i] = random.nextInt(4) == 0 ? random.nextLong() : ids[random.nextInt(ids.length)];
        }
        int[] rows = new int[count + 1];
        int[] payloads = new int[count + 1];
        rows[count] = 12345;
        payloads[count] = 6789;
        int missing = 0;
        for (int i = 0; i < count; i++) {
            missing += index.row(batch[from + i]) == IdIndex.MISSING ? 1 : 0;
        }
        assertEquals(missing, index.rows(batch, from, count, rows, payloads));
        for (int i = 0; i < count; i++) {
            int row = index.row(batch[from + i]);
            assertEquals(row, rows[i], "id " + i);
            assertEquals(row == IdIndex.MISSING ? 0 : payloadOf[row], payloads[i], "payload " + i);
        }
        assertEquals(12345, rows[count]);
        assertEquals(6789, payloads[count]);
        int[] alone = new int[count + 1];
        alone[count] = 12345;
        assertEquals(missing, index.rows(batch, from, count, alone));
        assertArrayEquals(rows, alone);
    }

    /**
     * Tiny tables filled to their limit: probe chains run past the end of the table and wrap to its start, and ids
     * that are absent must walk the same chains to their end.
     */
    @Test
    void fullTablesWrapAround() throws IOException {
        SplittableRandom random = new SplittableRandom(42);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + random.nextInt(42);
            long[] ids = random.longs(n * 4L).distinct().limit(n).toArray();
            if (ids.length < n) {
                continue;
            }
            int[] payloads = random.ints(n).toArray();
            IdIndex index = index(ids, payloads);
            int[] rows = new int[n];
            int[] got = new int[n];
            assertEquals(0, index.rows(ids, 0, n, rows, got));
            for (int row = 0; row < n; row++) {
                assertEquals(row, rows[row], "trial " + trial + ", id " + ids[row]);
                assertEquals(payloads[row], got[row], "trial " + trial + ", id " + ids[row]);
            }
            for (int i = 0; i < 200; i++) {
                long absent = random.nextLong();
                if (Arrays.stream(ids).noneMatch(id -> id == absent)) {
                    assertEquals(IdIndex.MISSING, index.row(absent), "trial " + trial);
                }
            }
            if (Arrays.stream(ids).noneMatch(id -> id == 0)) {
                assertEquals(IdIndex.MISSING, index.row(0L), "id 0 is not an empty slot's id");
            }
        }
    }

    @Test
    void batchLookupCountsMissingIds() throws IOException {
        IdIndex index = index(new long[] {10, 20, 30});
        int[] rows = new int[4];
        assertEquals(1, index.rows(new long[] {99, 30, 11, 10, 20}, 1, 4, rows));
        assertEquals(2, rows[0]);
        assertEquals(IdIndex.MISSING, rows[1]);
        assertEquals(0, rows[2]);
        assertEquals(1, rows[3]);
    }

    /** Every 32-bit payload (sign bit, all ones, zero) comes back with its row and leaves the row intact. */
    @Test
    void payloadsComeBackWithTheirRows() throws IOException {
        SplittableRandom random = new SplittableRandom(5);
        int n = 5000;
        long[] ids = random.longs(n).distinct().toArray();
        int[] payload = new int[ids.length];
        for (int row = 0; row < ids.length; row++) {
            payload[row] = switch (row % 4) {
                case 0 -> -1;
                case 1 -> 0;
                case 2 -> Integer.MIN_VALUE | row;
                default -> random.nextInt();
            };
        }
        IdIndex index = index(ids, payload);
        long[] probe = new long[ids.length + 1];
        System.arraycopy(ids, 0, probe, 1, ids.length);
        probe[0] = 12345; // not an id (seeded: the random ids do not hold it)
        int[] rows = new int[ids.length];
        int[] payloads = new int[ids.length];
        payloads[0] = 99;
        assertEquals(1, index.rows(probe, 0, ids.length, rows, payloads));
        assertEquals(IdIndex.MISSING, rows[0]);
        assertEquals(0, payloads[0], "an unknown id's payload");
        for (int i = 1; i < ids.length; i++) {
            assertEquals(i - 1, rows[i]);
            assertEquals(payload[i - 1], payloads[i], "payload of row " + (i - 1));
            assertEquals(i - 1, index.row(ids[i - 1]));
        }
    }

    @Test
    void duplicatesNameBothRowsWhateverThePayload() throws IOException {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> index(new long[] {1, 2, 3, 2}, new int[] {-1, -1, -1, -1}));
        assertEquals("id 2 appears twice, at rows 1 and 3", e.fault());
    }

    @Test
    void duplicatesNameBothRows() throws IOException {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> index(new long[] {1, 2, 3, 2}));
        assertEquals("tensor ids", e.subject());
        assertEquals("id 2 appears twice, at rows 1 and 3", e.fault());
    }

    @Test
    void idZeroIsAnIdLikeAnyOther() throws IOException {
        IdIndex index = index(new long[] {5, 0, -1});
        assertEquals(1, index.row(0));
        assertEquals(0, index.row(5));
        assertEquals(2, index.row(-1));
        assertEquals(IdIndex.MISSING, index.row(1));
    }

    /** The table lives in the arena it was built in: once that closes, a lookup throws instead of reading freed memory. */
    @Test
    void lookupsAfterTheArenaClosesThrow() throws IOException {
        Path file = dir.resolve("ids.safetensors");
        new SafetensorsWriter().addLongs("ids", new long[] {3}, new long[] {7, 8, 9}).write(file);
        IdIndex index;
        try (SafetensorsFile f = SafetensorsFile.open(file); Arena arena = Arena.ofConfined()) {
            index = IdIndex.build(file, f.tensor("ids"), null, arena);
            assertEquals(1, index.row(8));
        }
        assertThrows(IllegalStateException.class, () -> index.row(8));
        assertThrows(IllegalStateException.class, () -> index.rows(new long[] {7}, 0, 1, new int[1]));
    }

    @Test
    void emptyIndexHoldsNothing() throws IOException {
        IdIndex index = index(new long[0]);
        assertEquals(IdIndex.MISSING, index.row(0));
        assertEquals(0, index.size());
    }
}
