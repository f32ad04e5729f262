package io.tarq.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The bound that lets attention kernels skip the softmax's max ({@link AttentionKeys#unshiftedNormSq}). */
class AttentionKeysTest {
    private static final int HEADS = 2, DH = 4, D = HEADS * DH;
    private static final float LIMIT = AttentionKeys.UNSHIFTED_SCORE_LIMIT;

    @Test
    void boundIsTheLimitOverTheLargestKeyNormSquared() {
        float[] nullK = new float[D];
        nullK[0] = 3; // head 0's null key, norm² 9
        AttentionKeys keys = new AttentionKeys(HEADS, DH, 4, nullK);
        float[] k = new float[2 * D];
        k[1] = 2;          // key 0, head 0: norm² 4 (below the null key's)
        k[D + 4] = 4;      // key 1, head 1: norm² 16 + 9
        k[D + 5] = 3;
        keys.fill(k, new float[2 * D], ones(), 2);
        assertEquals(LIMIT * LIMIT / 9, keys.unshiftedNormSq[0]);
        assertEquals(LIMIT * LIMIT / 25, keys.unshiftedNormSq[1]);
    }

    @Test
    void queriesWithinTheBoundScoreWithinTheLimit() {
        SplittableRandom random = new SplittableRandom(7);
        int n = 30;
        AttentionKeys keys = new AttentionKeys(HEADS, DH, n, null);
        float[] k = new float[n * D];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) (random.nextGaussian() * 5);
        }
        keys.fill(k, new float[n * D], ones(), n);
        for (int j = 0; j < HEADS; j++) {
            float[] q = new float[DH];
            for (int trial = 0; trial < 1000; trial++) {
                double norm = 0;
                for (int t = 0; t < DH; t++) {
                    q[t] = (float) random.nextGaussian();
                    norm += q[t] * q[t];
                }
                float scale = (float) Math.sqrt(keys.unshiftedNormSq[j] / norm); // q on the bound
                for (int m = 0; m < n; m++) {
                    float s = 0;
                    for (int t = 0; t < DH; t++) {
                        s += q[t] * scale * k[m * D + j * DH + t];
                    }
                    assertTrue(Math.abs(s) <= LIMIT * 1.0001f, "score " + s + " of head " + j);
                }
            }
        }
    }

    @Test
    void noQueryQualifiesWhenUCouldOverflowOrKeysAreNotFinite() {
        AttentionKeys keys = new AttentionKeys(HEADS, DH, 2, null);
        float[] k = new float[2 * D];
        k[0] = 1;
        float[] values = new float[2 * D];
        values[0] = 1e30f; // u_0[0] = 1e30
        keys.fill(k, values, ones(), 2);
        assertEquals(-1f, keys.unshiftedNormSq[0]);
        assertEquals(Float.POSITIVE_INFINITY, keys.unshiftedNormSq[1], "head 1's keys are all zero: every score is 0");

        k[0] = Float.NaN;
        keys.fill(k, new float[2 * D], ones(), 2);
        assertTrue(Float.isNaN(keys.unshiftedNormSq[0]), "a NaN bound, which no norm is ≤");

        keys.fill(k, null, null, 2); // keys only (attendValues): no u
        assertEquals(-1f, keys.unshiftedNormSq[0]);
        assertEquals(-1f, keys.unshiftedNormSq[1]);
    }

    private static float[] ones() {
        float[] g = new float[D];
        Arrays.fill(g, 1f);
        return g;
    }
}
