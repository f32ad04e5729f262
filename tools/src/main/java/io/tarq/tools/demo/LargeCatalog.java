package io.tarq.tools.demo;

import io.tarq.engine.catalog.CrossProjection;
import io.tarq.engine.quantize.GreedyResidualQuantizer;
import io.tarq.layout.Layouts;
import io.tarq.layout.TarqDimensions;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import io.tarq.layout.safetensors.DType;
import io.tarq.layout.safetensors.SafetensorsWriter;
import io.tarq.layout.safetensors.TensorView;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

/**
 * A trained model with its catalog grown to N items, to show what a large catalog costs: every weight is the trained
 * model's; the trained items keep their rows, ids, embeddings, vectors and codes; each new item is a trained item's
 * embedding and vector plus noise, coded by greedy RQ with the model's own codebooks (so codes are spread as the
 * trained items' are), and with the cross head its {@code item.cross} row is projected from that embedding. The
 * optional item tower and attribute groups are left out (they describe the trained catalog).
 */
final class LargeCatalog {
    private static final long ROWS_PER_TASK = 4096;
    private static final double NOISE = 0.25; // of each dimension's spread in the trained catalog

    private LargeCatalog() {}

    static void write(TarqModelFile source, int items, long seed, Path out) throws IOException {
        TarqDimensions dims = source.dimensions();
        int trained = dims.items(), d = dims.d(), dv = dims.dv(), levels = dims.levels();
        if (items < trained) {
            throw new IllegalArgumentException("--catalog " + items + " is smaller than the model's " + trained + " items");
        }
        float[] emb = source.tensor(TarqTensors.ITEM_EMB).toFloatArray();
        float[] vec = source.tensor(TarqTensors.ITEM_VEC).toFloatArray();
        TensorView trainedIds = source.tensor(TarqTensors.ITEM_IDS);
        TensorView trainedCodes = source.tensor(TarqTensors.ITEM_CODES);
        float[] embSpread = spread(emb, trained, d);
        float[] vecSpread = spread(vec, trained, dv);
        long firstNewId = maxId(trainedIds) + 1;
        GreedyResidualQuantizer quantizer = new GreedyResidualQuantizer(
                source.tensor(TarqTensors.RQ_CODEBOOKS).toFloatArray(), levels, dims.codebookSize(), d);

        var metadata = new java.util.LinkedHashMap<>(source.metadata());
        metadata.remove("test_metrics"); // measured on the trained catalog, not this one
        SafetensorsWriter w = new SafetensorsWriter().metadata(metadata)
                .metadata("items", Integer.toString(items))
                .metadata("producer", "tarq demo: " + source.producer() + ", catalog grown to " + items + " items");
        for (TensorView t : source.safetensors().tensors()) {
            String name = t.name();
            boolean itemTensor = name.equals(TarqTensors.ITEM_IDS) || name.equals(TarqTensors.ITEM_EMB)
                    || name.equals(TarqTensors.ITEM_VEC) || name.equals(TarqTensors.ITEM_CODES)
                    || name.equals(TarqTensors.ITEM_CROSS) || name.startsWith("item.mlp.") || name.startsWith("item.attr.");
            if (!itemTensor) {
                w.copyOf(t);
            }
        }
        w.add(TarqTensors.ITEM_IDS, DType.I64, new long[] {items}, dst -> {
            for (long row = 0; row < items; row++) {
                dst.setAtIndex(Layouts.I64, row, row < trained ? trainedIds.getLong(row) : firstNewId + row - trained);
            }
        });
        w.add(TarqTensors.ITEM_EMB, DType.F32, new long[] {items, d}, dst -> rows(items, seed, (row, random, scratch) -> {
            jitter(emb, source(row, trained, random), d, embSpread, row < trained ? 0 : NOISE, random, scratch);
            MemorySegment.copy(scratch, 0, dst, Layouts.F32, row * d * 4L, d);
        }));
        w.add(TarqTensors.ITEM_VEC, DType.F32, new long[] {items, dv}, dst -> rows(items, seed, (row, random, scratch) -> {
            jitter(vec, source(row, trained, random), dv, vecSpread, row < trained ? 0 : NOISE, random, scratch);
            normalize(scratch, dv);
            MemorySegment.copy(scratch, 0, dst, Layouts.F32, row * dv * 4L, dv);
        }));
        w.add(TarqTensors.ITEM_CODES, DType.U8, new long[] {levels, items}, dst -> rows(items, seed, (row, random, scratch) -> {
            byte[] codes = new byte[levels];
            if (row < trained) {
                for (int l = 0; l < levels; l++) {
                    codes[l] = (byte) trainedCodes.getUnsignedByte((long) l * trained + row);
                }
            } else {
                jitter(emb, source(row, trained, random), d, embSpread, NOISE, random, scratch);
                quantizer.encode(scratch, 0, codes, 0, 1, new float[d]);
            }
            for (int l = 0; l < levels; l++) {
                dst.set(Layouts.U8, (long) l * items + row, codes[l]);
            }
        }));
        CrossProjection cross = CrossProjection.of(source);
        if (cross != null) {
            int dx = cross.crossDim();
            TensorView trainedCross = source.tensor(TarqTensors.ITEM_CROSS);
            w.add(TarqTensors.ITEM_CROSS, DType.F32, new long[] {items, dx}, dst -> rows(items, seed, (row, random, scratch) -> {
                if (row < trained) {
                    MemorySegment.copy(trainedCross.segment(), row * dx * 4L, dst, row * dx * 4L, dx * 4L);
                } else {
                    float[] q = new float[dx];
                    jitter(emb, source(row, trained, random), d, embSpread, NOISE, random, scratch);
                    cross.project(scratch, q);
                    MemorySegment.copy(q, 0, dst, Layouts.F32, row * dx * 4L, dx);
                }
            }));
        }
        w.write(out);
    }

    @FunctionalInterface
    private interface RowTask {
        void run(long row, SplittableRandom random, float[] scratch);
    }

    /**
     * Rows in parallel; each row's randomness depends only on (seed, row): the first draw picks the source row, so
     * item.emb, item.vec and item.codes of a row describe one item, and the codes are those of the written embedding.
     */
    private static void rows(long n, long seed, RowTask task) {
        long tasks = (n + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        LongStream.range(0, tasks).parallel().forEach(t -> {
            float[] scratch = new float[4096];
            for (long row = t * ROWS_PER_TASK; row < Math.min(n, (t + 1) * ROWS_PER_TASK); row++) {
                task.run(row, new SplittableRandom(seed * 0x9E3779B97F4A7C15L + row), scratch);
            }
        });
    }

    private static int source(long row, int trained, SplittableRandom random) {
        return row < trained ? (int) row : random.nextInt(trained);
    }

    private static void jitter(float[] table, int source, int width, float[] spread, double noise,
                               SplittableRandom random, float[] out) {
        for (int j = 0; j < width; j++) {
            out[j] = table[source * width + j] + (float) (noise * spread[j] * random.nextGaussian());
        }
    }

    private static void normalize(float[] v, int width) {
        double s = 0;
        for (int j = 0; j < width; j++) {
            s += (double) v[j] * v[j];
        }
        float inverse = (float) (1 / Math.sqrt(s));
        for (int j = 0; j < width; j++) {
            v[j] *= inverse;
        }
    }

    private static float[] spread(float[] table, int rows, int width) {
        double[] sum = new double[width], sumSq = new double[width];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < width; j++) {
                double x = table[r * width + j];
                sum[j] += x;
                sumSq[j] += x * x;
            }
        }
        float[] out = new float[width];
        for (int j = 0; j < width; j++) {
            double mean = sum[j] / rows;
            out[j] = (float) Math.sqrt(Math.max(0, sumSq[j] / rows - mean * mean));
        }
        return out;
    }

    private static long maxId(TensorView ids) {
        long max = Long.MIN_VALUE;
        for (long i = 0; i < ids.elementCount(); i++) {
            max = Math.max(max, ids.getLong(i));
        }
        return max;
    }
}
