package io.tarq.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.ReferenceTarq.UserSide;
import io.tarq.engine.quantize.GreedyResidualQuantizer;
import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import io.tarq.layout.safetensors.TensorView;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checks the reference implementation itself against facts that do not go through it: closed forms for n = 0 and
 * n = 1, a second, separately written forward pass over the raw float tensors, the invariants of softmax and of the
 * synthetic generator (null keys and the DIN head are drawn after every other weight, so the same seed with and
 * without them shares all other tensors).
 */
class ReferenceTarqTest {
    private static final double TOLERANCE = 1e-10;
    private static final int ITEMS = 20;
    private static final int USERS = 3;
    private static final int LEVELS = 2;
    private static final int K = 4;
    private static final int N_MAX = 8;

    @TempDir
    Path dir;

    /** d = 16, dv = 16, f = 8, L = 2, K = 4, N = 20, U = 3, n_max = 8. */
    private TarqModelFile tiny(int heads, boolean nullKeys, int taMlpHidden, long seed) throws IOException {
        SyntheticModelSpec spec = SyntheticModelSpec.defaults(ITEMS).withUsers(USERS).withDims(16, heads, 16, 8)
                .withCodebook(LEVELS, K).withNMax(N_MAX).withNullKeys(nullKeys).withTaMlpHidden(taMlpHidden)
                .withSeed(seed);
        Path file = dir.resolve("tiny-h" + heads + "-null" + nullKeys + "-mlp" + taMlpHidden + "-s" + seed + ".safetensors");
        SyntheticModel.write(spec, file);
        return TarqModelFile.open(file);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Closed forms

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void anEmptyHistoryLeavesOnlyTheOutputBiases(boolean nullKeys) throws IOException {
        try (TarqModelFile model = tiny(2, nullKeys, 0, 11)) {
            ReferenceTarq ref = new ReferenceTarq(model);
            double[] taBo = floats(model, "ta.attn.bo");
            double[] rqBo = floats(model, "rq.attn.bo");
            for (int u = 0; u < USERS; u++) {
                UserSide user = ref.user(u, new int[0]);
                assertEquals(0, user.h().length);
                // h_u = bo of the user attention, so v_u = MLP_user([x_u ; user.attn.bo]).
                double[] xu = row(model, TarqTensors.USER_EMB, u);
                double[] vu = mlp(model, "user.mlp", concat(xu, floats(model, "user.attn.bo")));
                assertClose(vu, user.vu(), "v_u");
                assertClose(linear(model, TarqTensors.TA_READOUT_WEIGHT, TarqTensors.TA_READOUT_BIAS, vu), user.r(), "r_u");
                assertEquals(1, ReferenceTarq.norm(user.uHat()), 1e-12);
                for (int i = 0; i < ITEMS; i++) {
                    assertClose(taBo, ref.t(user, i), "t(u,i)");
                    assertEquals(ReferenceTarq.dot(taBo, user.r()), ref.ta(user, i) - ref.tt(user, i), TOLERANCE);
                    assertEquals(LEVELS * ReferenceTarq.dot(rqBo, user.r()), ref.tarq(user, i) - ref.tt(user, i), TOLERANCE);
                }
                for (int l = 0; l < LEVELS; l++) {
                    for (int k = 0; k < K; k++) {
                        assertClose(rqBo, ref.pz(user, l, k), "Pz");
                    }
                }
            }
        }
    }

    @Test
    void oneBehaviourWithoutNullKeyGetsAllTheWeightWhateverTheQuery() throws IOException {
        try (TarqModelFile model = tiny(2, false, 0, 12)) {
            ReferenceTarq ref = new ReferenceTarq(model);
            int b = 7;
            UserSide user = ref.user(1, new int[] {b});
            // X = e_b + P[0] (the only behaviour is the newest); a single key takes all the weight, so
            // MHA(x; X) = Wo·(Wv·x + bv) + bo; H = LayerNorm(X + that).
            double[] x = add(row(model, TarqTensors.ITEM_EMB, b), row(model, TarqTensors.SEQ_POS, 0));
            double[] h = layerNorm(model, add(x, valueThenOut(model, "seq.attn", x)));
            assertClose(h, user.h()[0], "H");

            double[] t = valueThenOut(model, "ta.attn", h);
            double[] p = valueThenOut(model, "rq.attn", h);
            for (int i = 0; i < ITEMS; i++) {
                assertClose(t, ref.t(user, i), "t(u,i)");
                assertEquals(ReferenceTarq.dot(t, user.r()), ref.ta(user, i) - ref.tt(user, i), TOLERANCE);
                assertEquals(LEVELS * ReferenceTarq.dot(p, user.r()), ref.tarq(user, i) - ref.tt(user, i), TOLERANCE);
            }
            for (int l = 0; l < LEVELS; l++) {
                for (int k = 0; k < K; k++) {
                    assertClose(p, ref.pz(user, l, k), "Pz");
                }
            }
        }
    }

    @Test
    void oneBehaviourWithANullKeyGetsTheSigmoidOfTheScoreDifference() throws IOException {
        try (TarqModelFile model = tiny(1, true, 0, 13)) {
            ReferenceTarq ref = new ReferenceTarq(model);
            UserSide user = ref.user(2, new int[] {4});
            double[] h = user.h()[0];
            double sqrtDh = Math.sqrt(16);
            for (int i = 0; i < ITEMS; i++) {
                // One head, scores s_null = Q·null_k/4 and s_1 = Q·K_1/4: the behaviour's weight is σ(s_1 − s_null),
                // the null key's value is zero, so t = Wo·(σ·V_1) + bo.
                double[] q = linear(model, "ta.attn.wq", "ta.attn.bq", row(model, TarqTensors.ITEM_EMB, i));
                double sNull = ReferenceTarq.dot(q, floats(model, TarqTensors.TA_NULL_K)) / sqrtDh;
                double s1 = ReferenceTarq.dot(q, linear(model, "ta.attn.wk", "ta.attn.bk", h)) / sqrtDh;
                double weight = 1 / (1 + Math.exp(sNull - s1));
                double[] v = scale(linear(model, "ta.attn.wv", "ta.attn.bv", h), weight);
                assertClose(linear(model, "ta.attn.wo", "ta.attn.bo", v), ref.t(user, i), "t(u,i)");
                double[][] w = ref.taWeights(user, i);
                assertEquals(1 - weight, w[0][0], 1e-12);
                assertEquals(weight, w[0][1], 1e-12);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // A second forward pass, written separately from the reference

    static Stream<Arguments> headsAndNullKeys() {
        return Stream.of(1, 2, 4).flatMap(h -> Stream.of(Arguments.of(h, false), Arguments.of(h, true)));
    }

    @ParameterizedTest
    @MethodSource("headsAndNullKeys")
    void aHandRolledForwardPassGivesTheSameNumbers(int heads, boolean nullKeys) throws IOException {
        try (TarqModelFile model = tiny(heads, nullKeys, 0, 20 + heads)) {
            ReferenceTarq ref = new ReferenceTarq(model);
            for (int[] history : List.of(new int[] {3}, new int[] {3, 17, 5, 0, 9}, new int[] {1, 2, 3, 4, 5, 6, 7, 8})) {
                int u = history.length % USERS;
                UserSide user = ref.user(u, history);
                Hand hand = new Hand(model, u, history);
                for (int m = 0; m < history.length; m++) {
                    assertClose(hand.h[m], user.h()[m], "H row " + m);
                }
                assertClose(hand.vu, user.vu(), "v_u");
                assertClose(hand.uHat, user.uHat(), "û");
                assertClose(hand.r, user.r(), "r_u");
                for (int i = 0; i < ITEMS; i++) {
                    double[] e = row(model, TarqTensors.ITEM_EMB, i);
                    double[] t = hand.mha("ta.attn", 0, e, nullKeys ? TarqTensors.TA_NULL_K : null);
                    assertClose(t, ref.t(user, i), "t(u," + i + ")");
                    double tt = hand.tt(i);
                    assertEquals(tt, ref.tt(user, i), TOLERANCE);
                    assertEquals(tt + ReferenceTarq.dot(t, hand.r), ref.ta(user, i), TOLERANCE);
                    double tarq = tt;
                    for (int l = 0; l < LEVELS; l++) {
                        int code = model.tensor(TarqTensors.ITEM_CODES).getUnsignedByte((long) l * ITEMS + i);
                        tarq += ReferenceTarq.dot(hand.pz(l, code, nullKeys), hand.r);
                    }
                    assertEquals(tarq, ref.tarq(user, i), TOLERANCE);
                }
                for (int l = 0; l < LEVELS; l++) {
                    for (int k = 0; k < K; k++) {
                        assertClose(hand.pz(l, k, nullKeys), ref.pz(user, l, k), "Pz[" + l + "," + k + "]");
                    }
                }
            }
        }
    }

    @Test
    void theDinHeadScoresTheTeacherFromTItsProductWithTheItemAndTheItem() throws IOException {
        try (TarqModelFile readout = tiny(2, true, 0, 30); TarqModelFile din = tiny(2, true, 8, 30)) {
            assertFalse(readout.features().dinTeacherHead());
            assertTrue(din.features().dinTeacherHead());
            // Premise: the generator draws ta.mlp.* after every other tensor, so both files share all the others.
            assertArrayEquals(floats(readout, "ta.attn.wq"), floats(din, "ta.attn.wq"));
            assertArrayEquals(floats(readout, "rq.attn.wq"), floats(din, "rq.attn.wq"));
            ReferenceTarq withReadout = new ReferenceTarq(readout);
            ReferenceTarq withDin = new ReferenceTarq(din);
            int[] history = {2, 11, 19, 4};
            UserSide a = withReadout.user(1, history);
            UserSide b = withDin.user(1, history);
            assertClose(a.r(), b.r(), "r_u");
            for (int i = 0; i < ITEMS; i++) {
                double[] t = withDin.t(b, i);
                assertClose(withReadout.t(a, i), t, "t(u,i)");
                assertEquals(withReadout.tt(a, i), withDin.tt(b, i), TOLERANCE);
                assertEquals(withReadout.tarq(a, i), withDin.tarq(b, i), TOLERANCE, "the student always uses the readout");
                assertEquals(withReadout.tt(a, i) + ReferenceTarq.dot(t, a.r()), withReadout.ta(a, i), TOLERANCE);
                double[] e = row(din, TarqTensors.ITEM_EMB, i);
                double[] input = concat(concat(t, multiply(e, t)), e);
                double head = mlp(din, "ta.mlp", input)[0];
                assertEquals(withDin.tt(b, i) + head, withDin.ta(b, i), TOLERANCE);
                assertNotEquals(withReadout.ta(a, i), withDin.ta(b, i));
            }
            // n = 0: t = bo, so the DIN head sees [bo ; e ⊙ bo ; e].
            UserSide empty = withDin.user(0, new int[0]);
            double[] bo = floats(din, "ta.attn.bo");
            double[] e = row(din, TarqTensors.ITEM_EMB, 5);
            double head = mlp(din, "ta.mlp", concat(concat(bo, multiply(e, bo)), e))[0];
            assertEquals(withDin.tt(empty, 5) + head, withDin.ta(empty, 5), TOLERANCE);
        }
    }

    @Test
    void nullKeysChangeOnlyTheTargetAttentions() throws IOException {
        try (TarqModelFile plain = tiny(4, false, 0, 40); TarqModelFile withNull = tiny(4, true, 0, 40)) {
            assertArrayEquals(floats(plain, "rq.attn.bo"), floats(withNull, "rq.attn.bo"));
            ReferenceTarq a = new ReferenceTarq(plain);
            ReferenceTarq b = new ReferenceTarq(withNull);
            int[] history = {0, 1, 2, 3, 4, 5};
            UserSide ua = a.user(2, history);
            UserSide ub = b.user(2, history);
            for (int m = 0; m < history.length; m++) {
                assertClose(ua.h()[m], ub.h()[m], "H"); // MHA_seq and MHA_user have no null key
            }
            assertClose(ua.vu(), ub.vu(), "v_u");
            for (int i = 0; i < ITEMS; i++) {
                assertEquals(a.tt(ua, i), b.tt(ub, i), TOLERANCE);
                assertNotEquals(a.t(ua, i)[0], b.t(ub, i)[0]);
                assertNotEquals(a.tarq(ua, i), b.tarq(ub, i));
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Invariants

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void everyHeadsSoftmaxWeightsSumToOne(boolean nullKeys) throws IOException {
        try (TarqModelFile model = tiny(4, nullKeys, 0, 50)) {
            ReferenceTarq ref = new ReferenceTarq(model);
            for (int n = 0; n <= N_MAX; n++) {
                UserSide user = ref.user(1, IntStream.range(0, n).map(m -> (3 * m + 1) % ITEMS).toArray());
                for (int i = 0; i < ITEMS; i += 3) {
                    checkWeights(ref.taWeights(user, i), n, nullKeys);
                }
                for (int l = 0; l < LEVELS; l++) {
                    for (int k = 0; k < K; k++) {
                        checkWeights(ref.rqWeights(user, l, k), n, nullKeys);
                    }
                }
            }
        }
        double[] w = ReferenceTarq.softmax(new double[] {1000, 1001, -1000});
        assertEquals(1, w[0] + w[1] + w[2], 1e-15);
        assertEquals(1 / (1 + Math.E), w[0], 1e-15);
    }

    private static void checkWeights(double[][] weights, int n, boolean nullKey) {
        assertEquals(4, weights.length);
        for (double[] head : weights) {
            assertEquals(nullKey ? n + 1 : n, head.length);
            if (head.length == 0) {
                continue; // n = 0 without a null key: no key at all, out = bo
            }
            double sum = 0;
            for (double w : head) {
                assertTrue(w >= 0 && w <= 1, "weight " + w);
                sum += w;
            }
            assertEquals(1, sum, 1e-12);
            if (nullKey) {
                assertTrue(head[0] > 0, "the null key always takes some weight");
                assertTrue(n > 0 || head[0] == 1, "with n = 0 all the weight goes to the null key");
            }
        }
    }

    @Test
    void twoTowerScoresStayWithinTauOfBeta() throws IOException {
        try (TarqModelFile model = tiny(2, true, 0, 60)) {
            ReferenceTarq ref = new ReferenceTarq(model);
            double tau = model.tensor(TarqTensors.HEAD_TAU).getFloat(0);
            double beta = model.tensor(TarqTensors.HEAD_BETA).getFloat(0);
            double lowest = Double.POSITIVE_INFINITY;
            double highest = Double.NEGATIVE_INFINITY;
            for (int u = 0; u < USERS; u++) {
                for (int[] history : List.of(new int[0], new int[] {5, 6, 7}, new int[] {19, 18, 17, 16, 15, 14, 13, 12})) {
                    UserSide user = ref.user(u, history);
                    assertEquals(1, ReferenceTarq.norm(user.uHat()), 1e-12);
                    for (int i = 0; i < ITEMS; i++) {
                        double tt = ref.tt(user, i);
                        assertTrue(tt >= beta - Math.abs(tau) - 1e-6 && tt <= beta + Math.abs(tau) + 1e-6, "s_TT " + tt);
                        lowest = Math.min(lowest, tt);
                        highest = Math.max(highest, tt);
                    }
                }
            }
            assertTrue(highest - lowest > 0.1, "s_TT should vary over users and items");
        }
    }

    @Test
    void theOrderOfTheHistoryMatters() throws IOException {
        try (TarqModelFile model = tiny(2, true, 0, 70)) {
            ReferenceTarq ref = new ReferenceTarq(model);
            int[] history = {3, 8, 13, 18, 1};
            int[] reversed = {1, 18, 13, 8, 3};
            UserSide forward = ref.user(1, history);
            UserSide backward = ref.user(1, reversed);
            // Same behaviours, other positions: H is not the reversed rows of H (P[n − 1 − m] moved with them).
            for (int m = 0; m < history.length; m++) {
                assertTrue(maxDifference(forward.h()[m], backward.h()[history.length - 1 - m]) > 1e-4, "row " + m);
            }
            for (int i = 0; i < ITEMS; i++) {
                assertNotEquals(ref.ta(forward, i), ref.ta(backward, i));
                assertNotEquals(ref.tarq(forward, i), ref.tarq(backward, i));
            }
            // The newest behaviour gets P[0]: appending one shifts every older behaviour's position by one.
            UserSide longer = ref.user(1, new int[] {3, 8, 13, 18, 1, 9});
            assertTrue(maxDifference(forward.h()[0], longer.h()[0]) > 1e-4);
            // Whereas re-asking is deterministic.
            assertClose(forward.r(), ref.user(1, history).r(), "r_u");
        }
    }

    @Test
    void tarqSumsTheLookupsOfTheItemsGreedyCodes() throws IOException {
        try (TarqModelFile model = tiny(2, false, 0, 80)) {
            ReferenceTarq ref = new ReferenceTarq(model);
            float[] codebooks = model.tensor(TarqTensors.RQ_CODEBOOKS).toFloatArray();
            float[] emb = model.tensor(TarqTensors.ITEM_EMB).toFloatArray();
            GreedyResidualQuantizer quantizer = new GreedyResidualQuantizer(codebooks, LEVELS, K, 16);
            UserSide user = ref.user(0, new int[] {2, 4, 6});
            byte[] codes = new byte[LEVELS];
            for (int i = 0; i < ITEMS; i++) {
                quantizer.encode(emb, i * 16, codes, 0, 1, new float[16]);
                double sum = ref.tt(user, i);
                for (int l = 0; l < LEVELS; l++) {
                    int code = Byte.toUnsignedInt(codes[l]);
                    assertEquals(code, ref.code(l, i), "z_" + l + "(" + i + ")");
                    sum += ReferenceTarq.dot(ref.pz(user, l, code), user.r());
                }
                assertEquals(sum, ref.tarq(user, i), TOLERANCE);
            }
        }
    }

    @Test
    void rejectsRowsOutsideTheModel() throws IOException {
        try (TarqModelFile model = tiny(2, false, 0, 90)) {
            ReferenceTarq ref = new ReferenceTarq(model);
            assertThrows(IllegalArgumentException.class, () -> ref.user(USERS, new int[0]));
            assertThrows(IllegalArgumentException.class, () -> ref.user(0, new int[] {ITEMS}));
            assertThrows(IllegalArgumentException.class, () -> ref.user(0, new int[N_MAX + 1]));
            UserSide user = ref.user(0, new int[] {1});
            assertThrows(IllegalArgumentException.class, () -> ref.tt(user, -1));
            assertThrows(IllegalArgumentException.class, () -> ref.tarq(user, ITEMS));
            assertThrows(IllegalArgumentException.class, () -> ref.pz(user, LEVELS, 0));
            assertThrows(IllegalArgumentException.class, () -> ref.pz(user, 0, K));
        }
    }

    /**
     * A full-size model (d = 64, n = 50): the per-request work (the user side, the personalized codebook) is done once
     * and every candidate reuses it, so scoring a candidate again gives the same value. (How long it takes is the
     * suite's own time to show, not an assertion: a busy machine would fail any bound.)
     */
    @Test
    void scoresTwoHundredCandidatesOfAFullSizeModel() throws IOException {
        SyntheticModelSpec spec = SyntheticModelSpec.defaults(2000).withUsers(10).withNullKeys(true).withTaMlpHidden(32);
        Path file = dir.resolve("full.safetensors");
        SyntheticModel.write(spec, file);
        try (TarqModelFile model = TarqModelFile.open(file)) {
            ReferenceTarq ref = new ReferenceTarq(model);
            UserSide user = ref.user(3, IntStream.range(0, 50).map(m -> 37 * m + 5).toArray());
            double[] first = new double[200];
            for (int c = 0; c < 200; c++) {
                int item = 9 * c + 1;
                first[c] = ref.tt(user, item) + ref.ta(user, item) + ref.tarq(user, item);
                assertTrue(Double.isFinite(first[c]), "candidate " + item);
            }
            for (int c = 199; c >= 0; c -= 7) {
                int item = 9 * c + 1;
                assertEquals(first[c], ref.tt(user, item) + ref.ta(user, item) + ref.tarq(user, item), 0.0, "candidate " + item);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The hand-rolled forward pass: flat float tensors, all heads of a query at once, no max shift in the softmax

    /** The user side of one request and the attentions over its H, computed without the reference. */
    private static final class Hand {
        final TarqModelFile model;
        final int d;
        final int heads;
        final int dh;
        final double[][] h;
        final double[] vu;
        final double[] uHat;
        final double[] r;

        Hand(TarqModelFile model, int user, int[] history) {
            this.model = model;
            this.d = model.dimensions().d();
            this.heads = model.dimensions().heads();
            this.dh = d / heads;
            int n = history.length;
            double[][] x = new double[n][];
            for (int j = 1; j <= n; j++) { // the contract's 1-based j: X_j = e_{b_j} + P[n − j]
                x[j - 1] = add(row(model, TarqTensors.ITEM_EMB, history[j - 1]), row(model, TarqTensors.SEQ_POS, n - j));
            }
            double[][] rows = x; // MHA_seq(X; X): the keys are the rows of X itself
            this.h = new double[n][];
            for (int m = 0; m < n; m++) {
                h[m] = layerNorm(model, add(x[m], attention("seq.attn", 0, x[m], rows, null)));
            }
            double[] xu = row(model, TarqTensors.USER_EMB, user);
            double[] hu = attention("user.attn", 0, xu, h, null);
            this.vu = mlp(model, "user.mlp", concat(xu, hu));
            this.uHat = scale(vu, 1 / Math.sqrt(ReferenceTarq.dot(vu, vu)));
            this.r = linear(model, TarqTensors.TA_READOUT_WEIGHT, TarqTensors.TA_READOUT_BIAS, vu);
        }

        double tt(int item) {
            double dot = ReferenceTarq.dot(uHat, row(model, TarqTensors.ITEM_VEC, item));
            return model.tensor(TarqTensors.HEAD_TAU).getFloat(0) * dot + model.tensor(TarqTensors.HEAD_BETA).getFloat(0);
        }

        double[] mha(String prefix, int level, double[] query, String nullKey) {
            return attention(prefix, level, query, h, nullKey);
        }

        double[] pz(int level, int code, boolean nullKey) {
            double[] c = new double[d];
            TensorView codebooks = model.tensor(TarqTensors.RQ_CODEBOOKS);
            int k = model.dimensions().codebookSize();
            for (int i = 0; i < d; i++) {
                c[i] = codebooks.getFloat(((long) level * k + code) * d + i);
            }
            return mha("rq.attn", level, c, nullKey ? TarqTensors.RQ_NULL_K : null);
        }

        /** MHA(query; keys) from the raw tensors; rq.attn takes level {@code level}'s wq and bq. */
        private double[] attention(String prefix, int level, double[] query, double[][] keys, String nullKey) {
            int n = keys.length;
            TensorView bo = model.tensor(prefix + ".bo");
            if (n == 0) {
                double[] out = new double[d];
                for (int i = 0; i < d; i++) {
                    out[i] = bo.getFloat(i);
                }
                return out;
            }
            TensorView wq = model.tensor(prefix + ".wq");
            TensorView bq = model.tensor(prefix + ".bq");
            long wqBase = wq.rank() == 3 ? (long) level * d * d : 0;
            long bqBase = bq.rank() == 2 ? (long) level * d : 0;
            double[] q = new double[d];
            for (int o = 0; o < d; o++) {
                double s = bq.getFloat(bqBase + o);
                for (int i = 0; i < d; i++) {
                    s += wq.getFloat(wqBase + (long) o * d + i) * query[i];
                }
                q[o] = s;
            }
            double[][] kk = new double[n][];
            double[][] vv = new double[n][];
            for (int m = 0; m < n; m++) {
                kk[m] = linear(model, prefix + ".wk", prefix + ".bk", keys[m]);
                vv[m] = linear(model, prefix + ".wv", prefix + ".bv", keys[m]);
            }
            double[] o = new double[d];
            double[] numerator = new double[d];
            double[] denominator = new double[heads];
            TensorView nk = nullKey == null ? null : model.tensor(nullKey);
            for (int m = -1; m < n; m++) { // m = -1: the null key, whose value is zero
                if (m < 0 && nk == null) {
                    continue;
                }
                for (int j = 0; j < heads; j++) {
                    double s = 0;
                    for (int c = 0; c < dh; c++) {
                        double key = m < 0 ? nk.getFloat((long) j * dh + c) : kk[m][j * dh + c];
                        s += q[j * dh + c] * key;
                    }
                    double e = Math.exp(s / Math.sqrt(dh));
                    denominator[j] += e;
                    for (int c = 0; m >= 0 && c < dh; c++) {
                        numerator[j * dh + c] += e * vv[m][j * dh + c];
                    }
                }
            }
            for (int c = 0; c < d; c++) {
                o[c] = numerator[c] / denominator[c / dh];
            }
            return linear(model, prefix + ".wo", prefix + ".bo", o);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Helpers over the raw tensors

    /** Wv then Wo: what MHA gives when one key takes all the weight. */
    private static double[] valueThenOut(TarqModelFile model, String prefix, double[] key) {
        double[] v = linear(model, prefix + ".wv", prefix + ".bv", key);
        return linear(model, prefix + ".wo", prefix + ".bo", v);
    }

    private static double[] layerNorm(TarqModelFile model, double[] y) {
        int d = y.length;
        double mean = 0;
        for (double v : y) {
            mean += v / d;
        }
        double meanOfSquares = 0;
        for (double v : y) {
            meanOfSquares += (v - mean) * (v - mean) / d;
        }
        double[] out = new double[d];
        for (int c = 0; c < d; c++) {
            out[c] = model.tensor(TarqTensors.SEQ_LN_WEIGHT).getFloat(c) * (y[c] - mean) / Math.sqrt(meanOfSquares + 1e-5)
                    + model.tensor(TarqTensors.SEQ_LN_BIAS).getFloat(c);
        }
        return out;
    }

    /** Linear → ReLU → Linear with tensors {@code prefix.0.*} and {@code prefix.2.*}. */
    private static double[] mlp(TarqModelFile model, String prefix, double[] x) {
        double[] hidden = linear(model, prefix + ".0.weight", prefix + ".0.bias", x);
        for (int i = 0; i < hidden.length; i++) {
            hidden[i] = hidden[i] > 0 ? hidden[i] : 0;
        }
        return linear(model, prefix + ".2.weight", prefix + ".2.bias", hidden);
    }

    /** W·x + b, W [out, in] read straight from the file. */
    private static double[] linear(TarqModelFile model, String weight, String bias, double[] x) {
        TensorView w = model.tensor(weight);
        TensorView b = model.tensor(bias);
        int out = Math.toIntExact(w.dim(0));
        int in = Math.toIntExact(w.dim(1));
        assertEquals(in, x.length, weight + " input width");
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            y[o] = b.getFloat(o);
            for (int i = 0; i < in; i++) {
                y[o] += w.getFloat((long) o * in + i) * x[i];
            }
        }
        return y;
    }

    private static double[] row(TarqModelFile model, String name, int row) {
        TensorView view = model.tensor(name);
        int width = Math.toIntExact(view.dim(1));
        double[] y = new double[width];
        for (int c = 0; c < width; c++) {
            y[c] = view.getFloat((long) row * width + c);
        }
        return y;
    }

    private static double[] floats(TarqModelFile model, String name) {
        float[] a = model.tensor(name).toFloatArray();
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i];
        }
        return y;
    }

    private static double[] add(double[] a, double[] b) {
        double[] y = a.clone();
        for (int i = 0; i < a.length; i++) {
            y[i] += b[i];
        }
        return y;
    }

    private static double[] multiply(double[] a, double[] b) {
        double[] y = a.clone();
        for (int i = 0; i < a.length; i++) {
            y[i] *= b[i];
        }
        return y;
    }

    private static double[] scale(double[] a, double factor) {
        double[] y = a.clone();
        for (int i = 0; i < a.length; i++) {
            y[i] *= factor;
        }
        return y;
    }

    private static double[] concat(double[] a, double[] b) {
        return Stream.of(a, b).flatMapToDouble(java.util.Arrays::stream).toArray();
    }

    private static double maxDifference(double[] a, double[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " width");
        double scale = 1;
        for (double v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        assertTrue(maxDifference(expected, actual) <= TOLERANCE * scale,
                what + ": differs by " + maxDifference(expected, actual));
    }
}
