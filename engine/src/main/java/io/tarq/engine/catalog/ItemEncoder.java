package io.tarq.engine.catalog;

import io.tarq.engine.quantize.GreedyResidualQuantizer;
import io.tarq.layout.Layouts;
import io.tarq.layout.ModelFormatException;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import io.tarq.layout.safetensors.TensorView;
import java.lang.foreign.MemorySegment;

/**
 * Embeds and codes one catalog item from its raw features with a model's item tower, attribute embeddings and
 * codebooks: the exporter's computation (docs/model-format.md, "Encoding items"), so that a catalog grows without
 * retraining.
 * <pre>
 *   e   = E_item + mean(E_attr[a] for a in attrs)       E_item = item.emb[i] − mean(E_attr[old attrs]) for a known
 *                                                        item, 0 for a new one; an empty mean is 0
 *   î   = normalize(W2·ReLU(W0·e + b0) + b2)             item.mlp.{0,2}.{weight,bias}
 *   z_l = greedy residual quantization of e              rq.codebooks
 *   q   = W_x·e + b_x                                    ta.cross.item.{weight,bias} (the cross head only: item.cross)
 * </pre>
 * Precision, chosen so that the Python twin ({@code tarq.encode}) computes the same {@code e} bit for bit: the
 * means and E_item are computed in double (attribute rows summed in list order, then divided by their count) and
 * {@code e} is rounded to float once; the tower accumulates in double and rounds {@code î} to float once; q starts
 * from b_x in double, adds the products in index order and is rounded to float once.
 *
 * <p>Layouts: {@code w0[f_i][d]}, {@code w2[dv][f_i]} (PyTorch's {@code [out, in]}), {@code attrEmb[A][d]} read
 * from the mapped file (never copied: A may be large), {@code codebooks[L][K][d]}. Thread-safe; callers own the
 * {@link Scratch}.
 */
public final class ItemEncoder {
    private final int d;
    private final int dv;
    private final int hidden;
    private final int levels;
    private final float[] w0;
    private final float[] b0;
    private final float[] w2;
    private final float[] b2;
    private final MemorySegment attrEmb;
    private final GreedyResidualQuantizer quantizer;
    private final int crossDim;           // dx, 0 without the cross head
    private final CrossProjection cross;  // q = W_x·e + b_x, or null without the cross head

    private ItemEncoder(TarqModelFile model) {
        var dims = model.dimensions();
        this.d = dims.d();
        this.dv = dims.dv();
        this.hidden = model.features().itemMlpHidden();
        this.levels = dims.levels();
        this.w0 = model.tensor(TarqTensors.ITEM_MLP_0_WEIGHT).toFloatArray();
        this.b0 = model.tensor(TarqTensors.ITEM_MLP_0_BIAS).toFloatArray();
        this.w2 = model.tensor(TarqTensors.ITEM_MLP_2_WEIGHT).toFloatArray();
        this.b2 = model.tensor(TarqTensors.ITEM_MLP_2_BIAS).toFloatArray();
        this.attrEmb = model.tensor(TarqTensors.ITEM_ATTR_EMB).segment();
        this.quantizer = new GreedyResidualQuantizer(model.tensor(TarqTensors.RQ_CODEBOOKS).toFloatArray(), levels,
                dims.codebookSize(), d);
        this.crossDim = dims.crossDim();
        this.cross = CrossProjection.of(model);
    }

    /**
     * The encoder of {@code model}, which must have the item tower ({@code item.mlp.*}) and the item attributes
     * ({@code item.attr.*}); otherwise a {@link ModelFormatException} naming the missing group.
     */
    public static ItemEncoder of(TarqModelFile model) throws ModelFormatException {
        requireGroup(model, TarqTensors.ITEM_MLP_0_WEIGHT, "item.mlp.*", "the item tower");
        requireGroup(model, TarqTensors.ITEM_ATTR_IDS, "item.attr.*", "the item attributes");
        return new ItemEncoder(model);
    }

    private static void requireGroup(TarqModelFile model, String tensor, String group, String what)
            throws ModelFormatException {
        // TarqModelFile checked that optional groups are all or none, so one tensor stands for its group.
        if (model.findTensor(tensor).isEmpty()) {
            throw new ModelFormatException(model.path(), "tensors " + group, "missing: encoding items needs " + what
                    + " (a model trained by ./tarq train has it)");
        }
    }

    public int dim() {
        return d;
    }

    public int towerDim() {
        return dv;
    }

    public int levels() {
        return levels;
    }

    /** dx, the width of {@code item.cross} rows; 0 for a model without the cross head. */
    public int crossDim() {
        return crossDim;
    }

    /** Per-thread buffers. */
    public final class Scratch {
        final double[] base = new double[d];
        final double[] sum = new double[d];
        final double[] hiddenActivations = new double[hidden];
        final double[] output = new double[dv];
        final float[] residual = new float[d];
        /** e, as written to {@code item.emb}. */
        public final float[] embedding = new float[d];
        /** î, as written to {@code item.vec}. */
        public final float[] vector = new float[dv];
        /** z_0..z_{L−1}. */
        public final byte[] codes = new byte[levels];
        /** q, as written to {@code item.cross} (empty without the cross head). */
        public final float[] cross = new float[crossDim];
    }

    public Scratch newScratch() {
        return new Scratch();
    }

    /**
     * Computes {@code s.embedding}. {@code oldEmbedding} is the item's current {@code item.emb} row (null for a new
     * item: E_item = 0) and {@code oldAttributes[0..oldCount)} its current attribute rows; {@code attributes} are the
     * new attribute rows (a bag: a repeated row counts twice, as in the trainer's EmbeddingBag).
     */
    public void embed(float[] oldEmbedding, int[] oldAttributes, int oldCount, int[] attributes, Scratch s) {
        double[] base = s.base;
        if (oldEmbedding == null) {
            java.util.Arrays.fill(base, 0.0);
        } else {
            for (int j = 0; j < d; j++) {
                base[j] = oldEmbedding[j];
            }
            if (oldCount > 0) {
                mean(oldAttributes, oldCount, s.sum);
                for (int j = 0; j < d; j++) {
                    base[j] -= s.sum[j];
                }
            }
        }
        if (attributes.length > 0) {
            mean(attributes, attributes.length, s.sum);
            for (int j = 0; j < d; j++) {
                base[j] += s.sum[j];
            }
        }
        for (int j = 0; j < d; j++) {
            s.embedding[j] = (float) base[j];
        }
    }

    /** {@code out = (Σ_a E_attr[rows[a]]) / count}, summed in double in list order. */
    private void mean(int[] rows, int count, double[] out) {
        java.util.Arrays.fill(out, 0.0);
        for (int a = 0; a < count; a++) {
            long first = (long) rows[a] * d;
            for (int j = 0; j < d; j++) {
                out[j] += attrEmb.getAtIndex(Layouts.F32, first + j);
            }
        }
        for (int j = 0; j < d; j++) {
            out[j] /= count;
        }
    }

    /**
     * Computes {@code s.vector = normalize(MLP_item(s.embedding))}; false when the tower's output has no direction
     * (zero or not finite), which no unit vector can stand for.
     */
    public boolean towerVector(Scratch s) {
        float[] e = s.embedding;
        double[] h = s.hiddenActivations;
        for (int k = 0; k < hidden; k++) {
            double acc = b0[k];
            int row = k * d;
            for (int j = 0; j < d; j++) {
                acc += (double) w0[row + j] * e[j];
            }
            h[k] = Math.max(acc, 0.0);
        }
        double sumOfSquares = 0;
        for (int m = 0; m < dv; m++) {
            double acc = b2[m];
            int row = m * hidden;
            for (int k = 0; k < hidden; k++) {
                acc += w2[row + k] * h[k];
            }
            s.output[m] = acc;
            sumOfSquares += acc * acc;
        }
        double norm = Math.sqrt(sumOfSquares);
        if (!(norm > 0) || !Double.isFinite(norm)) {
            return false;
        }
        for (int m = 0; m < dv; m++) {
            s.vector[m] = (float) (s.output[m] / norm);
        }
        return true;
    }

    /** Computes {@code s.cross = W_x·s.embedding + b_x}, the item's {@code item.cross} row (the cross head only). */
    public void crossRow(Scratch s) {
        cross.project(s.embedding, s.cross);
    }

    /** Computes {@code s.codes}, the greedy RQ codes of {@code s.embedding} (the engine's quantizer). */
    public void quantize(Scratch s) {
        quantizer.encode(s.embedding, 0, s.codes, 0, 1, s.residual);
    }

    /** Reads row {@code row} of an [N, width] F32 tensor into {@code out}. */
    static void readRow(TensorView tensor, long row, float[] out) {
        MemorySegment.copy(tensor.segment(), Layouts.F32, row * out.length * Float.BYTES, out, 0, out.length);
    }
}
