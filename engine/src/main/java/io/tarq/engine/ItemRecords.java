package io.tarq.engine;

import io.tarq.layout.TarqDimensions;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The {@link ItemVectors#RECORDS} copy: one float record an item, its {@code item.vec} row followed by its
 * {@code item.cross} row ({@code records [N][dv + dx]}, 320 bytes at dv = 64, dx = 16: five adjacent cache lines).
 * A TARQ candidate then fetches both rows in one touched pass ({@code dotRowsCross}) instead of a second pass over
 * a second table, whose random line and pass cost more than the cross term's arithmetic. The values are the file's,
 * so every mode gives the bits it gives with {@link ItemVectors#FLOAT32}.
 */
final class ItemRecords {
    private final MemorySegment records;

    private ItemRecords(MemorySegment records) {
        this.records = records;
    }

    /** The records of a model with the cross head, in memory of {@code arena}; null for a version-1 model. */
    static ItemRecords build(TarqModelFile file, Arena arena) {
        TarqDimensions dims = file.dimensions();
        if (!dims.crossHead()) {
            return null; // no cross rows: the float rows alone are the record
        }
        int dv = dims.dv(), dx = dims.crossDim();
        long n = dims.items();
        MemorySegment vec = file.tensor(TarqTensors.ITEM_VEC).segment();
        MemorySegment cross = file.tensor(TarqTensors.ITEM_CROSS).segment();
        long recordBytes = 4L * (dv + dx);
        MemorySegment records = arena.allocate(n * recordBytes, 64);
        for (long row = 0; row < n; row++) {
            MemorySegment.copy(vec, row * dv * 4L, records, row * recordBytes, dv * 4L);
            MemorySegment.copy(cross, row * dx * 4L, records, row * recordBytes + dv * 4L, dx * 4L);
        }
        return new ItemRecords(records);
    }

    MemorySegment records() {
        return records;
    }
}
