package io.tarq.engine.catalog;

import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;

/**
 * The cross head's item side, {@code q = W_x·e + b_x}: the arithmetic that writes an {@code item.cross} row, shared by
 * every writer of one (the trainer's export, {@code ./tarq encode-items}, a grown demo catalog) so that a row written
 * twice is the same bits. Products and sums in double, bias first and then the d columns in order, rounded to float
 * once.
 */
public final class CrossProjection {
    private final int d;
    private final int dx;
    private final float[] weight; // W_x [dx][d]
    private final float[] bias;   // b_x [dx]

    private CrossProjection(int d, int dx, float[] weight, float[] bias) {
        this.d = d;
        this.dx = dx;
        this.weight = weight;
        this.bias = bias;
    }

    /** The projection of {@code model}, or null when the model has no cross head (format version 1). */
    public static CrossProjection of(TarqModelFile model) {
        var dims = model.dimensions();
        if (!dims.crossHead()) {
            return null;
        }
        return new CrossProjection(dims.d(), dims.crossDim(), model.tensor(TarqTensors.TA_CROSS_ITEM_WEIGHT).toFloatArray(),
                model.tensor(TarqTensors.TA_CROSS_ITEM_BIAS).toFloatArray());
    }

    /** dx, the width of a row. */
    public int crossDim() {
        return dx;
    }

    /** {@code out[0..dx) = W_x·e + b_x} for the embedding {@code e[0..d)}. */
    public void project(float[] e, float[] out) {
        for (int c = 0; c < dx; c++) {
            double acc = bias[c];
            int row = c * d;
            for (int j = 0; j < d; j++) {
                acc += (double) weight[row + j] * e[j];
            }
            out[c] = (float) acc;
        }
    }
}
