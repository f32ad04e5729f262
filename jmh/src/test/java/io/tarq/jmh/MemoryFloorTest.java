package io.tarq.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The floor's touch loads exactly one float at each 64-byte step of every row, and nothing past the table. */
class MemoryFloorTest {
    @Test
    void touchRowsLoadsEveryLineOfEveryRowOnce() {
        int items = 7, count = 41;
        SplittableRandom random = new SplittableRandom(11);
        for (long rowBytes = 4; rowBytes <= 400; rowBytes += 4) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment table = arena.allocate(items * rowBytes, 64); // ends with the last row
                for (long o = 0; o < table.byteSize(); o += 4) {
                    table.set(ValueLayout.JAVA_FLOAT_UNALIGNED, o, (float) ((o / 4) % 997)); // integers: exact sums
                }
                int[] rows = random.ints(count, 0, items).map(r -> r % 3 == 0 ? items - 1 : r).toArray();
                float expected = 0;
                for (int row : rows) {
                    for (long line = 0; line < rowBytes; line += 64) {
                        expected += table.get(ValueLayout.JAVA_FLOAT_UNALIGNED, row * rowBytes + line);
                    }
                }
                assertEquals(expected, MemoryFloor.touchRows(table, rowBytes, rows, count), "rows of " + rowBytes + " bytes");
            }
        }
    }
}
