package io.tarq.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.layout.safetensors.SafetensorsFile;
import io.tarq.layout.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
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
        Path file = dir.resolve("ids.safetensors");
        new SafetensorsWriter().addLongs("ids", new long[] {ids.length}, ids).write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return IdIndex.build(file, f.tensor("ids"));
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
        for (int i = 0; i < 10_000; i++) {
            long probe = random.nextLong();
            assertEquals(expected.getOrDefault(probe, IdIndex.MISSING), index.row(probe));
        }
        assertTrue(index.byteSize() >= 16L * n * 3 / 2, "load factor at most 2/3");
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

    @Test
    void duplicatesNameBothRows() throws IOException {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> index(new long[] {1, 2, 3, 2}));
        assertEquals("tensor ids", e.subject());
        assertEquals("id 2 appears twice, at rows 1 and 3", e.fault());
    }

    @Test
    void emptyIndexHoldsNothing() throws IOException {
        IdIndex index = index(new long[0]);
        assertEquals(IdIndex.MISSING, index.row(0));
        assertEquals(0, index.size());
    }
}
