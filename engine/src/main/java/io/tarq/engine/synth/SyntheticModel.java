package io.tarq.engine.synth;

import io.tarq.engine.quantize.GreedyResidualQuantizer;
import io.tarq.layout.Layouts;
import io.tarq.layout.TarqDimensions;
import io.tarq.layout.TarqTensors;
import io.tarq.layout.safetensors.DType;
import io.tarq.layout.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

/**
 * Writes a valid TARQ model with random weights, of any size, for tests and benchmarks at scale.
 *
 * <p>Weights are Gaussian with standard deviation 1/√fan_in (biases 0.02), so activations stay of order one. Item
 * embeddings are sums of one random codeword per level plus a little noise, so that residual quantization has
 * structure to find; their codes are then computed by greedy RQ from the codebooks, as the exporter does.
 * Per-item rows come from a random stream seeded by (seed, tensor, row), so the catalog tensors are filled in
 * parallel straight into the mapped output and the same spec always gives the same bytes.
 */
public final class SyntheticModel {
    /** Bumped whenever the same spec would give different bytes, so that cached benchmark models are rebuilt. */
    public static final int GENERATOR_VERSION = 1;
    private static final int ROWS_PER_TASK = 8192;
    private static final long ITEM_EMB_STREAM = 1;
    private static final long ITEM_VEC_STREAM = 2;
    private static final long CROSS_WEIGHTS_SEED = 0x3C6EF372FE94F82BL;

    private final SyntheticModelSpec spec;
    private final float[] codebooks; // [L][K][d]
    private final float[] crossItemWeight; // W_x [dx][d], or null without the cross head
    private final float[] crossItemBias;   // b_x [dx]

    private SyntheticModel(SyntheticModelSpec spec) {
        this.spec = spec;
        this.codebooks = codebooks(spec);
        // The cross weights have their own stream: adding the cross head leaves every other tensor's bytes unchanged.
        SplittableRandom crossRandom = new SplittableRandom(spec.seed() ^ CROSS_WEIGHTS_SEED);
        int dx = spec.crossDim(), d = spec.d();
        this.crossItemWeight = dx == 0 ? null : gaussian(crossRandom, dx * d, 1 / Math.sqrt(d));
        this.crossItemBias = dx == 0 ? null : gaussian(crossRandom, dx, 0.02);
    }

    /** The external id of item row {@code row}: distinct, positive, not sequential. */
    public static long itemId(long row) {
        return 1000 + 7919 * row;
    }

    /** The external id of user row {@code row}; row 0 (id 0) is the unknown user. */
    public static long userId(long row) {
        return row;
    }

    /** Writes the model described by {@code spec} to {@code out}. */
    public static void write(SyntheticModelSpec spec, Path out) throws IOException {
        // Checks every dimension against the contract's limits before any work.
        TarqDimensions dims = new TarqDimensions(spec.d(), spec.heads(), spec.dv(), spec.mlpHidden(), spec.nMax(),
                spec.levels(), spec.codebookSize(), spec.items(), spec.users(), spec.crossDim());
        if (dims.crossHead() && spec.taMlpHidden() > 0) {
            throw new IllegalArgumentException("a model has one teacher head: the cross head or the DIN-style head, not both");
        }
        new SyntheticModel(spec).writer().write(out);
    }

    private SafetensorsWriter writer() {
        int d = spec.d(), dv = spec.dv(), f = spec.mlpHidden(), levels = spec.levels(), n = spec.items();
        SplittableRandom random = new SplittableRandom(spec.seed());
        SafetensorsWriter w = new SafetensorsWriter()
                .metadata("format", TarqDimensions.FORMAT)
                .metadata("format_version", Integer.toString(spec.crossDim() > 0
                        ? TarqDimensions.FORMAT_VERSION_2 : TarqDimensions.FORMAT_VERSION_1))
                .metadata("d", Integer.toString(d))
                .metadata("heads", Integer.toString(spec.heads()))
                .metadata("dv", Integer.toString(dv))
                .metadata("mlp_hidden", Integer.toString(f))
                .metadata("n_max", Integer.toString(spec.nMax()))
                .metadata("levels", Integer.toString(levels))
                .metadata("codebook_size", Integer.toString(spec.codebookSize()))
                .metadata("items", Integer.toString(n))
                .metadata("users", Integer.toString(spec.users()))
                .metadata("producer", "tarq synth " + version())
                .metadata("synthetic_seed", Long.toString(spec.seed()));

        w.add(TarqTensors.ITEM_IDS, DType.I64, shape(n), dst -> {
            for (long row = 0; row < n; row++) {
                dst.setAtIndex(Layouts.I64, row, itemId(row));
            }
        });
        w.add(TarqTensors.ITEM_EMB, DType.F32, shape(n, d), dst -> parallelRows(n, (row, scratch) -> {
            itemEmbedding(row, scratch.row);
            MemorySegment.copy(scratch.row, 0, dst, Layouts.F32, row * d * 4L, d);
        }));
        w.add(TarqTensors.ITEM_VEC, DType.F32, shape(n, dv), dst -> parallelRows(n, (row, scratch) -> {
            unitVector(rowRandom(ITEM_VEC_STREAM, row), scratch.row, dv);
            MemorySegment.copy(scratch.row, 0, dst, Layouts.F32, row * dv * 4L, dv);
        }));
        GreedyResidualQuantizer quantizer = new GreedyResidualQuantizer(codebooks, levels, spec.codebookSize(), d);
        // Codes come from the same per-row embedding streams, so this tensor needs no read of item.emb.
        w.add(TarqTensors.ITEM_CODES, DType.U8, shape(levels, n), dst -> parallelRows(n, (row, scratch) -> {
            itemEmbedding(row, scratch.row);
            quantizer.encode(scratch.row, 0, scratch.codes, 0, 1, scratch.residual);
            for (int l = 0; l < levels; l++) {
                dst.set(Layouts.U8, (long) l * n + row, scratch.codes[l]);
            }
        }));

        long[] userIds = new long[spec.users()];
        for (int u = 0; u < userIds.length; u++) {
            userIds[u] = userId(u);
        }
        w.addLongs(TarqTensors.USER_IDS, shape(spec.users()), userIds);
        w.addFloats(TarqTensors.USER_EMB, shape(spec.users(), d), gaussian(random, spec.users() * d, 1 / Math.sqrt(d)));
        w.addFloats(TarqTensors.SEQ_POS, shape(spec.nMax(), d), gaussian(random, spec.nMax() * d, 0.1 / Math.sqrt(d)));
        attention(w, random, TarqTensors.SEQ_ATTN);
        w.addFloats(TarqTensors.SEQ_LN_WEIGHT, shape(d), around(random, d, 1f, 0.05));
        w.addFloats(TarqTensors.SEQ_LN_BIAS, shape(d), gaussian(random, d, 0.02));
        attention(w, random, TarqTensors.USER_ATTN);
        w.addFloats(TarqTensors.USER_MLP_0_WEIGHT, shape(f, 2 * d), gaussian(random, f * 2 * d, 1 / Math.sqrt(2 * d)));
        w.addFloats(TarqTensors.USER_MLP_0_BIAS, shape(f), gaussian(random, f, 0.02));
        w.addFloats(TarqTensors.USER_MLP_2_WEIGHT, shape(dv, f), gaussian(random, dv * f, 1 / Math.sqrt(f)));
        w.addFloats(TarqTensors.USER_MLP_2_BIAS, shape(dv), gaussian(random, dv, 0.02));
        attention(w, random, TarqTensors.TA_ATTN);
        w.addFloats(TarqTensors.TA_READOUT_WEIGHT, shape(d, dv), gaussian(random, d * dv, 1 / Math.sqrt(dv)));
        w.addFloats(TarqTensors.TA_READOUT_BIAS, shape(d), gaussian(random, d, 0.02));
        w.addFloats(TarqTensors.HEAD_TAU, shape(1), new float[] {5f});
        w.addFloats(TarqTensors.HEAD_BETA, shape(1), new float[] {-1f});
        w.addFloats(TarqTensors.RQ_CODEBOOKS, shape(levels, spec.codebookSize(), d), codebooks);
        w.addFloats(TarqTensors.attn(TarqTensors.RQ_ATTN, "wq"), shape(levels, d, d),
                gaussian(random, levels * d * d, 1 / Math.sqrt(d)));
        w.addFloats(TarqTensors.attn(TarqTensors.RQ_ATTN, "bq"), shape(levels, d), gaussian(random, levels * d, 0.02));
        for (String p : List.of("wk", "wv", "wo")) {
            w.addFloats(TarqTensors.attn(TarqTensors.RQ_ATTN, p), shape(d, d), gaussian(random, d * d, 1 / Math.sqrt(d)));
        }
        for (String p : List.of("bk", "bv", "bo")) {
            w.addFloats(TarqTensors.attn(TarqTensors.RQ_ATTN, p), shape(d), gaussian(random, d, 0.02));
        }
        if (spec.nullKeys()) {
            int h = spec.heads(), dh = d / h;
            w.addFloats(TarqTensors.TA_NULL_K, shape(h, dh), gaussian(random, d, 1 / Math.sqrt(dh)));
            w.addFloats(TarqTensors.RQ_NULL_K, shape(h, dh), gaussian(random, d, 1 / Math.sqrt(dh)));
        }
        if (spec.crossDim() > 0) {
            writeCrossHead(w, random);
        }
        if (spec.taMlpHidden() > 0) {
            int fTa = spec.taMlpHidden();
            w.addFloats(TarqTensors.TA_MLP_0_WEIGHT, shape(fTa, 3 * d), gaussian(random, fTa * 3 * d, 1 / Math.sqrt(3 * d)));
            w.addFloats(TarqTensors.TA_MLP_0_BIAS, shape(fTa), gaussian(random, fTa, 0.02));
            w.addFloats(TarqTensors.TA_MLP_2_WEIGHT, shape(1, fTa), gaussian(random, fTa, 1 / Math.sqrt(fTa)));
            w.addFloats(TarqTensors.TA_MLP_2_BIAS, shape(1), gaussian(random, 1, 0.02));
        }
        return w;
    }

    /** The cross head: A, W_x, b_x and item.cross = W_x·e_i + b_x (in double, rounded once: what verify --full checks). */
    private void writeCrossHead(SafetensorsWriter w, SplittableRandom random) {
        int d = spec.d(), dx = spec.crossDim(), n = spec.items();
        w.metadata("cross_dim", Integer.toString(dx));
        w.addFloats(TarqTensors.TA_CROSS_A, shape(dx, d), gaussian(random, dx * d, 1 / Math.sqrt(d)));
        w.addFloats(TarqTensors.TA_CROSS_ITEM_WEIGHT, shape(dx, d), crossItemWeight);
        w.addFloats(TarqTensors.TA_CROSS_ITEM_BIAS, shape(dx), crossItemBias);
        w.add(TarqTensors.ITEM_CROSS, DType.F32, shape(n, dx), dst -> parallelRows(n, (row, scratch) -> {
            itemEmbedding(row, scratch.row);
            for (int c = 0; c < dx; c++) {
                double q = crossItemBias[c];
                for (int t = 0; t < d; t++) {
                    q += (double) crossItemWeight[c * d + t] * scratch.row[t];
                }
                dst.setAtIndex(Layouts.F32, row * dx + c, (float) q);
            }
        }));
    }

    private void attention(SafetensorsWriter w, SplittableRandom random, String prefix) {
        int d = spec.d();
        for (String p : List.of("wq", "wk", "wv", "wo")) {
            w.addFloats(TarqTensors.attn(prefix, p), shape(d, d), gaussian(random, d * d, 1 / Math.sqrt(d)));
        }
        for (String p : List.of("bq", "bk", "bv", "bo")) {
            w.addFloats(TarqTensors.attn(prefix, p), shape(d), gaussian(random, d, 0.02));
        }
    }

    /** e_i = Σ_l C_l[random code] + noise: what an encoder with a meaningful codebook would produce. */
    private void itemEmbedding(long row, float[] out) {
        int d = spec.d(), k = spec.codebookSize();
        SplittableRandom random = rowRandom(ITEM_EMB_STREAM, row);
        for (int j = 0; j < d; j++) {
            out[j] = (float) (random.nextGaussian() * 0.02 / Math.sqrt(d));
        }
        for (int l = 0; l < spec.levels(); l++) {
            int base = (l * k + random.nextInt(k)) * d;
            for (int j = 0; j < d; j++) {
                out[j] += codebooks[base + j];
            }
        }
    }

    /** Level l's codewords have norm about 2^-l: each level refines the one before. */
    private static float[] codebooks(SyntheticModelSpec spec) {
        int d = spec.d();
        SplittableRandom random = new SplittableRandom(spec.seed() ^ 0x5DEECE66DL);
        float[] out = new float[spec.levels() * spec.codebookSize() * d];
        int perLevel = spec.codebookSize() * d;
        for (int l = 0; l < spec.levels(); l++) {
            double scale = Math.pow(0.5, l) / Math.sqrt(d);
            for (int i = 0; i < perLevel; i++) {
                out[l * perLevel + i] = (float) (random.nextGaussian() * scale);
            }
        }
        return out;
    }

    private SplittableRandom rowRandom(long stream, long row) {
        return new SplittableRandom(spec.seed() * 0x9E3779B97F4A7C15L + stream * 0xC2B2AE3D27D4EB4FL + row);
    }

    private static void unitVector(SplittableRandom random, float[] out, int length) {
        double sumOfSquares = 0;
        for (int j = 0; j < length; j++) {
            double v = random.nextGaussian();
            out[j] = (float) v;
            sumOfSquares += v * v;
        }
        float inverseNorm = (float) (1 / Math.sqrt(sumOfSquares));
        for (int j = 0; j < length; j++) {
            out[j] *= inverseNorm;
        }
    }

    /** One worker's buffers: a row of max(d, dv) floats, a residual of d floats, L codes. */
    private final class Scratch {
        final float[] row = new float[Math.max(spec.d(), spec.dv())];
        final float[] residual = new float[spec.d()];
        final byte[] codes = new byte[spec.levels()];
    }

    @FunctionalInterface
    private interface RowTask {
        void run(long row, Scratch scratch);
    }

    /** Runs {@code task} for rows 0..n-1 on the common pool, each task with its own scratch. */
    private void parallelRows(long n, RowTask task) {
        long tasks = (n + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        LongStream.range(0, tasks).parallel().forEach(t -> {
            Scratch scratch = new Scratch();
            long end = Math.min(n, (t + 1) * ROWS_PER_TASK);
            for (long row = t * ROWS_PER_TASK; row < end; row++) {
                task.run(row, scratch);
            }
        });
    }

    private static float[] gaussian(SplittableRandom random, int count, double std) {
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = (float) (random.nextGaussian() * std);
        }
        return out;
    }

    private static float[] around(SplittableRandom random, int count, float center, double std) {
        float[] out = gaussian(random, count, std);
        for (int i = 0; i < count; i++) {
            out[i] += center;
        }
        return out;
    }

    private static long[] shape(long... extents) {
        return extents;
    }

    private static String version() {
        String v = SyntheticModel.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
