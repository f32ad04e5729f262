package io.tarq.engine;

import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.QueryBlocks;
import io.tarq.layout.Layouts;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import java.lang.foreign.MemorySegment;

/**
 * Exact target attention, the teacher: {@code t(u,i) = MHA_ta(e_i; H)} for every candidate, added to the two-tower
 * logit with the readout head ({@code ⟨t, r_u⟩}, through the serving identity), the cross head (the readout plus
 * {@code ⟨A·t, q_i⟩}, A·t through the same identity) or the DIN-style head ({@code MLP_ta([t ; e ⊙ t ; e])}, with t
 * in full). Candidates go in chunks that bound the scratch and keep it in L2.
 */
final class TeacherAttention {
    private static final int CHUNK = 128;

    private final KernelSupport kernels;
    private final ModelWeights w;
    private final MemorySegment itemEmb;
    private final MemorySegment itemCross;  // item.cross [N][dx], or null without the cross head
    private final ReadoutAttention teacher;
    private final int d;
    private final float[] scores;
    private final float[] emb;          // [CHUNK][d]
    private final float[] queries;      // [CHUNK][d]
    private final float[] queriesT;     // the same in QueryBlocks layout
    private final float[] readouts;     // [CHUNK]
    private final float[] crossRows;    // [CHUNK][dx]    (cross head): A·t without A·bo
    private final float[] attended;     // [CHUNK][d]     (DIN head)
    private final float[] t;            // [CHUNK][d]     (DIN head)
    private final float[] dinIn;        // [CHUNK][3d]    (DIN head)
    private final float[] dinHidden;    // [CHUNK][f_ta]  (DIN head)

    TeacherAttention(TarqModelFile file, ModelWeights w, KernelSupport kernels) {
        this.kernels = kernels;
        this.w = w;
        this.itemEmb = file.tensor(TarqTensors.ITEM_EMB).segment();
        this.itemCross = w.cross == null ? null : file.tensor(TarqTensors.ITEM_CROSS).segment();
        this.teacher = new ReadoutAttention(w, w.ta, w.cross == null ? null : w.cross.teacher, kernels);
        this.d = w.dims.d();
        this.scores = new float[KernelSupport.scoresLength(teacher.keys())];
        this.crossRows = w.cross == null ? null : new float[CHUNK * w.cross.dx];
        this.emb = new float[CHUNK * d];
        this.queries = new float[CHUNK * d];
        this.queriesT = new float[QueryBlocks.length(CHUNK, d)];
        this.readouts = new float[CHUNK];
        boolean din = w.taMlp0T != null;
        this.attended = din ? new float[CHUNK * d] : null;
        this.t = din ? new float[CHUNK * d] : null;
        this.dinIn = din ? new float[CHUNK * 3 * d] : null;
        this.dinHidden = din ? new float[CHUNK * w.taMlpHidden] : null;
    }

    /** {@code out[i] += } the teacher's attention term of candidate {@code rows[i]}, for i < count. */
    void addTo(UserTower user, int[] rows, int count, float[] out) {
        teacher.prepare(user);
        for (int start = 0; start < count; start += CHUNK) {
            int c = Math.min(CHUNK, count - start);
            for (int i = 0; i < c; i++) {
                MemorySegment.copy(itemEmb, Layouts.F32, (long) rows[start + i] * d * 4, emb, i * d, d);
            }
            kernels.linear(emb, 0, c, d, w.ta.wqT, w.ta.bq, d, queries, 0);
            if (w.taMlp0T != null) {
                addDinHead(c, start, out);
            } else if (itemCross != null) {
                QueryBlocks.block(queries, 0, c, d, queriesT);
                kernels.attendRowsCross(queriesT, c, teacher.keys(), scores, readouts, crossRows);
                addCrossHead(rows, c, start, out);
            } else {
                QueryBlocks.block(queries, 0, c, d, queriesT);
                kernels.attendRows(queriesT, c, teacher.keys(), scores, readouts);
                float constant = teacher.constant();
                for (int i = 0; i < c; i++) {
                    out[start + i] += readouts[i] + constant;
                }
            }
        }
    }

    /** ℓ_TA − s_TT = ⟨t, r_u⟩ + ⟨A·t, q_i⟩, from the chunk's readouts and cross rows (A·bo added here). */
    private void addCrossHead(int[] rows, int c, int start, float[] out) {
        int dx = w.cross.dx;
        float[] bias = teacher.crossBias();
        float constant = teacher.constant();
        for (int i = 0; i < c; i++) {
            long base = (long) rows[start + i] * dx * Float.BYTES;
            float dot = 0;
            for (int x = 0; x < dx; x++) {
                dot += (crossRows[i * dx + x] + bias[x]) * itemCross.get(Layouts.F32, base + (long) Float.BYTES * x);
            }
            out[start + i] += readouts[i] + constant + dot;
        }
    }

    /** ℓ_TA − s_TT = MLP_ta([t ; e ⊙ t ; e]) with t = MHA_ta(e; H) in full. */
    private void addDinHead(int c, int start, float[] out) {
        kernels.attendValues(queries, c, teacher.keys(), teacher.values(), scores, attended);
        kernels.linear(attended, 0, c, d, w.ta.woT, w.ta.bo, d, t, 0);
        for (int i = 0; i < c; i++) {
            for (int j = 0; j < d; j++) {
                float tj = t[i * d + j], e = emb[i * d + j];
                dinIn[i * 3 * d + j] = tj;
                dinIn[i * 3 * d + d + j] = e * tj;
                dinIn[i * 3 * d + 2 * d + j] = e;
            }
        }
        int f = w.taMlpHidden;
        kernels.linear(dinIn, 0, c, 3 * d, w.taMlp0T, w.taMlp0Bias, f, dinHidden, 0);
        for (int i = 0; i < c; i++) {
            float logit = w.taMlp2Bias;
            for (int j = 0; j < f; j++) {
                logit += Math.max(0f, dinHidden[i * f + j]) * w.taMlp2[j];
            }
            out[start + i] += logit;
        }
    }
}
