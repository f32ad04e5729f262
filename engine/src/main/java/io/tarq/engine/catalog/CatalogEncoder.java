package io.tarq.engine.catalog;

import io.tarq.layout.IdIndex;
import io.tarq.layout.Layouts;
import io.tarq.layout.ModelFormatException;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import io.tarq.layout.safetensors.DType;
import io.tarq.layout.safetensors.SafetensorsWriter;
import io.tarq.layout.safetensors.TensorView;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Writes a copy of a model whose catalog has items added or replaced, each embedded and coded from its raw
 * features by {@link ItemEncoder} (docs/model-format.md, "Encoding items").
 *
 * <p>An item whose id is in the catalog keeps its row (its {@code item.*} rows and attribute list are replaced);
 * the others are appended after row N − 1 in the order given. Every other tensor is copied byte for byte, extension
 * tensors included. Nothing grows with the catalog on the heap: the unchanged rows go from the mapped model to the
 * mapped output by bulk copies, the CSR is streamed row by row, and the items given are encoded straight into the
 * output (once for each tensor they appear in, which costs less than holding their results), in parallel.
 */
public final class CatalogEncoder {
    /** One item to encode: its external id and its attribute rows (0..A−1, already mapped from external ids). */
    public record Item(long id, int[] attributeRows) {
    }

    /** What was written. {@code items} is the new N. */
    public record Result(int replaced, int added, int addedWithoutAttributes, int items) {
    }

    /** An item the model cannot encode; {@link #index()} is its position in the list given. */
    public static final class ItemException extends IOException {
        private static final long serialVersionUID = 1L;
        private final int index;

        ItemException(int index, String message) {
            super(message);
            this.index = index;
        }

        public int index() {
            return index;
        }
    }

    private static final int ITEMS_PER_TASK = 1024;
    private static final Set<String> REWRITTEN = Set.of(TarqTensors.ITEM_IDS, TarqTensors.ITEM_EMB,
            TarqTensors.ITEM_VEC, TarqTensors.ITEM_CODES, TarqTensors.ITEM_CROSS, TarqTensors.ITEM_ATTR_OFFSETS,
            TarqTensors.ITEM_ATTR_VALUES);

    private final TarqModelFile model;
    private final ItemEncoder encoder;
    private final List<Item> items;
    private final int oldItems;
    private final int newItems;
    private final int[] targetRows;     // [M]: the output row of items.get(m)
    private final int[] byTargetRow;    // [M]: item indexes sorted by output row
    private final TensorView oldEmb;
    private final TensorView oldOffsets;
    private final TensorView oldValues;
    private final long attributeCount;

    private CatalogEncoder(TarqModelFile model, ItemEncoder encoder, List<Item> items) throws ModelFormatException {
        this.model = model;
        this.encoder = encoder;
        this.items = items;
        this.oldItems = model.dimensions().items();
        this.oldEmb = model.tensor(TarqTensors.ITEM_EMB);
        this.oldOffsets = model.tensor(TarqTensors.ITEM_ATTR_OFFSETS);
        this.oldValues = model.tensor(TarqTensors.ITEM_ATTR_VALUES);
        this.attributeCount = model.tensor(TarqTensors.ITEM_ATTR_IDS).dim(0);
        checkOffsets();
        IdIndex index = model.itemIndex();
        int m = items.size();
        targetRows = new int[m];
        long next = oldItems;
        for (int i = 0; i < m; i++) {
            int row = index.row(items.get(i).id());
            targetRows[i] = row != IdIndex.MISSING ? row : (int) Math.min(next++, Integer.MAX_VALUE);
        }
        if (next > IdIndex.MAX_IDS) {
            throw new IllegalArgumentException("the catalog would hold " + next + " items, more than an index holds ("
                    + IdIndex.MAX_IDS + ")");
        }
        newItems = (int) next;
        long[] keys = new long[m];
        for (int i = 0; i < m; i++) {
            keys[i] = ((long) targetRows[i] << 32) | i;
        }
        Arrays.sort(keys);
        byTargetRow = new int[m];
        for (int k = 0; k < m; k++) {
            byTargetRow[k] = (int) keys[k];
            if (k > 0 && (keys[k] >>> 32) == (keys[k - 1] >>> 32)) {
                throw new IllegalArgumentException("item id " + items.get(byTargetRow[k]).id() + " is given twice");
            }
        }
    }

    /**
     * Writes {@code model} with {@code items} encoded into {@code out} (atomically: the file appears complete or not
     * at all; {@code out} may be the model's own path). Item ids must be distinct and attribute rows in 0..A−1.
     *
     * @param producer the new {@code producer} metadata value
     * @throws ModelFormatException the model has no item tower or attributes
     * @throws ItemException        an item's tower output has no direction
     */
    public static Result write(TarqModelFile model, List<Item> items, Path out, String producer) throws IOException {
        ItemEncoder encoder = ItemEncoder.of(model);
        int attributes = (int) model.tensor(TarqTensors.ITEM_ATTR_IDS).dim(0);
        for (Item item : items) {
            for (int row : item.attributeRows()) {
                if (row < 0 || row >= attributes) {
                    throw new IllegalArgumentException("item id " + item.id() + ": attribute row " + row
                            + " is not in 0.." + (attributes - 1));
                }
            }
        }
        return new CatalogEncoder(model, encoder, items).write(out, producer);
    }

    private Result write(Path out, String producer) throws IOException {
        int d = encoder.dim(), dv = encoder.towerDim(), levels = encoder.levels();
        long n = newItems;
        Map<String, String> metadata = new LinkedHashMap<>(model.metadata());
        metadata.put("items", Integer.toString(newItems));
        metadata.put("producer", producer);
        SafetensorsWriter w = new SafetensorsWriter().metadata(metadata);
        for (TensorView t : model.safetensors().tensors()) {
            if (!REWRITTEN.contains(t.name())) {
                w.copyOf(t);
                continue;
            }
            switch (t.name()) {
                case TarqTensors.ITEM_IDS -> w.add(t.name(), DType.I64, new long[] {n}, dst -> {
                    MemorySegment.copy(t.segment(), 0, dst, 0, t.byteSize());
                    for (int i = 0; i < items.size(); i++) {
                        dst.setAtIndex(Layouts.I64, targetRows[i], items.get(i).id());
                    }
                });
                case TarqTensors.ITEM_EMB -> w.add(t.name(), DType.F32, new long[] {n, d}, dst -> {
                    MemorySegment.copy(t.segment(), 0, dst, 0, t.byteSize());
                    forEachItem((i, s) -> MemorySegment.copy(s.embedding, 0, dst, Layouts.F32,
                            (long) targetRows[i] * d * Float.BYTES, d));
                });
                case TarqTensors.ITEM_VEC -> w.add(t.name(), DType.F32, new long[] {n, dv}, dst -> {
                    MemorySegment.copy(t.segment(), 0, dst, 0, t.byteSize());
                    forEachItem((i, s) -> {
                        if (!encoder.towerVector(s)) {
                            throw new ItemException(i, "item id " + items.get(i).id() + ": the item tower's output is"
                                    + " zero or not finite, so it has no unit vector");
                        }
                        MemorySegment.copy(s.vector, 0, dst, Layouts.F32, (long) targetRows[i] * dv * Float.BYTES, dv);
                    });
                });
                case TarqTensors.ITEM_CODES -> w.add(t.name(), DType.U8, new long[] {levels, n}, dst -> {
                    for (int l = 0; l < levels; l++) { // level-major: each level's row moves to its new stride
                        MemorySegment.copy(t.segment(), (long) l * oldItems, dst, (long) l * n, oldItems);
                    }
                    forEachItem((i, s) -> {
                        encoder.quantize(s);
                        for (int l = 0; l < levels; l++) {
                            dst.set(Layouts.U8, l * n + targetRows[i], s.codes[l]);
                        }
                    });
                });
                case TarqTensors.ITEM_CROSS -> w.add(t.name(), DType.F32, new long[] {n, encoder.crossDim()}, dst -> {
                    int dx = encoder.crossDim();
                    MemorySegment.copy(t.segment(), 0, dst, 0, t.byteSize());
                    forEachItem((i, s) -> {
                        encoder.crossRow(s);
                        MemorySegment.copy(s.cross, 0, dst, Layouts.F32, (long) targetRows[i] * dx * Float.BYTES, dx);
                    });
                });
                case TarqTensors.ITEM_ATTR_OFFSETS -> w.add(t.name(), DType.I64, new long[] {n + 1},
                        dst -> streamAttributes(dst, null));
                case TarqTensors.ITEM_ATTR_VALUES -> w.add(t.name(), DType.I64, new long[] {newAttributeValues()},
                        dst -> streamAttributes(null, dst));
                default -> throw new AssertionError(t.name());
            }
        }
        w.write(out);
        int replaced = 0, withoutAttributes = 0;
        for (int i = 0; i < items.size(); i++) {
            if (targetRows[i] < oldItems) {
                replaced++;
            } else if (items.get(i).attributeRows().length == 0) {
                withoutAttributes++;
            }
        }
        return new Result(replaced, items.size() - replaced, withoutAttributes, newItems);
    }

    /** The old CSR's offsets, which opening a model does not read: the streaming below relies on them. */
    private void checkOffsets() throws ModelFormatException {
        long previous = 0;
        for (long r = 0; r <= oldItems; r++) {
            long offset = oldOffset(r);
            if ((r == 0 && offset != 0) || offset < previous || offset > oldValues.dim(0)) {
                throw ModelFormatException.ofTensor(model.path(), TarqTensors.ITEM_ATTR_OFFSETS, "offsets[" + r + "] = "
                        + offset + " breaks the CSR (0 first, non-decreasing, at most nnz = " + oldValues.dim(0) + ")");
            }
            previous = offset;
        }
        if (previous != oldValues.dim(0)) {
            throw ModelFormatException.ofTensor(model.path(), TarqTensors.ITEM_ATTR_OFFSETS, "the last offset is "
                    + previous + ", not nnz = " + oldValues.dim(0));
        }
    }

    private long oldOffset(long row) {
        return oldOffsets.getLong(row);
    }

    private long newAttributeValues() {
        long nnz = oldOffset(oldItems);
        for (int i = 0; i < items.size(); i++) {
            nnz += items.get(i).attributeRows().length;
            if (targetRows[i] < oldItems) {
                nnz -= oldOffset(targetRows[i] + 1L) - oldOffset(targetRows[i]);
            }
        }
        return nnz;
    }

    /**
     * The new CSR, row by row in output order: runs of unchanged rows are copied (values in bulk, offsets shifted),
     * each given item's attribute list is written at its row. Fills {@code offsets} or {@code values}, whichever is
     * not null.
     */
    private void streamAttributes(MemorySegment offsets, MemorySegment values) {
        long position = 0; // in the new values
        long nextRow = 0;  // the first old row not yet copied
        if (offsets != null) {
            offsets.setAtIndex(Layouts.I64, 0, 0);
        }
        for (int i : byTargetRow) {
            long row = targetRows[i];
            position = copyRun(nextRow, Math.min(row, oldItems), position, offsets, values);
            nextRow = Math.max(nextRow, Math.min(row + 1, oldItems));
            int[] rows = items.get(i).attributeRows();
            if (values != null) {
                for (int a = 0; a < rows.length; a++) {
                    values.setAtIndex(Layouts.I64, position + a, rows[a]);
                }
            }
            position += rows.length;
            if (offsets != null) {
                offsets.setAtIndex(Layouts.I64, row + 1, position);
            }
        }
        copyRun(nextRow, oldItems, position, offsets, values);
    }

    /** Copies old rows {@code [from, to)} to the new CSR at value {@code position}; returns the position after. */
    private long copyRun(long from, long to, long position, MemorySegment offsets, MemorySegment values) {
        if (from >= to) {
            return position;
        }
        long begin = oldOffset(from);
        long count = oldOffset(to) - begin;
        if (values != null) {
            MemorySegment.copy(oldValues.segment(), begin * Long.BYTES, values, position * Long.BYTES, count * Long.BYTES);
        }
        if (offsets != null) {
            long shift = position - begin;
            for (long r = from; r < to; r++) {
                offsets.setAtIndex(Layouts.I64, r + 1, oldOffset(r + 1) + shift);
            }
        }
        return position + count;
    }

    @FunctionalInterface
    private interface ItemTask {
        void run(int item, ItemEncoder.Scratch scratch) throws IOException;
    }

    /** Embeds every given item ({@code scratch.embedding}) and runs {@code task} on it, in parallel. */
    private void forEachItem(ItemTask task) throws IOException {
        int m = items.size();
        int tasks = (m + ITEMS_PER_TASK - 1) / ITEMS_PER_TASK;
        try {
            IntStream.range(0, tasks).parallel().forEach(t -> {
                ItemEncoder.Scratch s = encoder.newScratch();
                float[] old = new float[encoder.dim()];
                int[] oldAttributes = new int[16];
                for (int i = t * ITEMS_PER_TASK, end = Math.min(m, i + ITEMS_PER_TASK); i < end; i++) {
                    Item item = items.get(i);
                    int row = targetRows[i];
                    if (row < oldItems) {
                        ItemEncoder.readRow(oldEmb, row, old);
                        long begin = oldOffset(row);
                        int count = (int) (oldOffset(row + 1L) - begin);
                        if (count > oldAttributes.length) {
                            oldAttributes = new int[Math.max(count, 2 * oldAttributes.length)];
                        }
                        for (int a = 0; a < count; a++) {
                            long value = oldValues.getLong(begin + a);
                            if (value < 0 || value >= attributeCount) {
                                throw new UncheckedIOException(ModelFormatException.ofTensor(model.path(),
                                        TarqTensors.ITEM_ATTR_VALUES, "value " + value + " at [" + (begin + a)
                                                + "] is not an attribute row (0 <= row < A = " + attributeCount + ")"));
                            }
                            oldAttributes[a] = (int) value;
                        }
                        encoder.embed(old, oldAttributes, count, item.attributeRows(), s);
                    } else {
                        encoder.embed(null, oldAttributes, 0, item.attributeRows(), s);
                    }
                    try {
                        task.run(i, s);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
