package io.tarq.engine;

import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;

/**
 * The cross head of format version 2 (docs/model.md), in the form the request path uses it. The term
 * {@code ⟨A·MHA(q; H), q_i⟩} goes through the serving identity: {@code A·MHA(q; H) = Σ_j softmax_j · U_j + A·bo} with
 * {@code U_j[m] = A·Wo[:, j-block]·V_j[m]}, so each attention (the teacher's {@code ta.attn}, the student's
 * {@code rq.attn}) gets one {@link Projection} computed at load: U for all heads is then one Linear over the values.
 */
final class CrossHead {
    /** dx, the width of {@code item.cross} rows. */
    final int dx;
    final Projection teacher;
    final Projection student;

    /**
     * One attention's part: {@code valuesT [d][h·dx]} with {@code valuesT[t][j·dx + c] = (A·Wo)[c][t]} for t in head
     * j's block and 0 elsewhere (so that {@code V·valuesT} gives every head's U at once, U_j[m] at
     * {@code [m][j·dx + c]}), and the constant {@code bias = A·bo [dx]}.
     */
    record Projection(float[] valuesT, float[] bias) {
    }

    private CrossHead(int dx, Projection teacher, Projection student) {
        this.dx = dx;
        this.teacher = teacher;
        this.student = student;
    }

    /** The file's cross head, or null for a version-1 file. */
    static CrossHead of(TarqModelFile file, AttentionWeights teacher, AttentionWeights student) {
        var dims = file.dimensions();
        if (!dims.crossHead()) {
            return null;
        }
        float[] a = file.tensor(TarqTensors.TA_CROSS_A).toFloatArray(); // [dx][d]
        int dx = dims.crossDim(), d = dims.d(), heads = dims.heads();
        return new CrossHead(dx, project(a, teacher, dx, d, heads), project(a, student, dx, d, heads));
    }

    private static Projection project(float[] a, AttentionWeights attention, int dx, int d, int heads) {
        int dh = d / heads;
        float[] valuesT = new float[d * heads * dx];
        float[] bias = new float[dx];
        for (int c = 0; c < dx; c++) {
            double b = 0;
            for (int o = 0; o < d; o++) {
                b += (double) a[c * d + o] * attention.bo[o];
            }
            bias[c] = (float) b;
            for (int t = 0; t < d; t++) {
                double aWo = 0; // (A·Wo)[c][t], Wo stored [out][in]
                for (int o = 0; o < d; o++) {
                    aWo += (double) a[c * d + o] * attention.wo[o * d + t];
                }
                valuesT[t * heads * dx + (t / dh) * dx + c] = (float) aWo;
            }
        }
        return new Projection(valuesT, bias);
    }
}
