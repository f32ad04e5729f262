package io.tarq.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.layout.TarqDimensions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Requests on slices of pooled buffers score exactly as requests on their own arrays; the model describes itself. */
class ScorerSliceTest {
    static final int ITEMS = 1500;
    static final int USERS = 20;

    @TempDir
    static Path dir;
    static TarqModel v1;
    static TarqModel v2;

    @BeforeAll
    static void open() throws IOException {
        Path a = dir.resolve("v1.safetensors"), b = dir.resolve("v2.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(ITEMS).withUsers(USERS).withNMax(16), a);
        SyntheticModel.write(SyntheticModelSpec.defaults(ITEMS).withUsers(USERS).withNMax(16).withCrossDim(16), b);
        v1 = TarqModel.open(a);
        v2 = TarqModel.open(b);
    }

    @AfterAll
    static void close() {
        v1.close();
        v2.close();
    }

    @Test
    void slicesOfLargerBuffersScoreAsTheirOwnArrays() {
        SplittableRandom random = new SplittableRandom(7);
        for (TarqModel model : new TarqModel[] {v1, v2}) {
            Scorer scorer = model.newScorer().skipUnknownCandidates(true);
            for (int trial = 0; trial < 20; trial++) {
                int historyLength = random.nextInt(0, 30), candidateCount = random.nextInt(1, 300);
                int hOff = random.nextInt(0, 5), cOff = random.nextInt(0, 5), oOff = random.nextInt(0, 5);
                long[] history = ids(random, hOff + historyLength + 3);
                long[] candidates = ids(random, cOff + candidateCount + 3);
                candidates[cOff] = -12345; // an unknown candidate: NaN at its slice position
                long[] ownHistory = Arrays.copyOfRange(history, hOff, hOff + historyLength);
                long[] ownCandidates = Arrays.copyOfRange(candidates, cOff, cOff + candidateCount);
                long user = SyntheticModel.userId(random.nextInt(USERS));
                for (Mode mode : Mode.values()) {
                    float[] expected = new float[candidateCount];
                    scorer.score(mode, user, ownHistory, ownCandidates, expected);
                    float[] out = new float[oOff + candidateCount + 2];
                    Arrays.fill(out, 99f);
                    scorer.score(mode, user, history, hOff, historyLength, candidates, cOff, candidateCount, out, oOff);
                    assertArrayEquals(expected, Arrays.copyOfRange(out, oOff, oOff + candidateCount), mode.name());
                    for (int i = 0; i < oOff; i++) {
                        assertEquals(99f, out[i], "before the output slice");
                    }
                    assertEquals(99f, out[oOff + candidateCount], "after the output slice");

                    int k = Math.min(10, candidateCount);
                    TopK own = scorer.topK(mode, user, ownHistory, ownCandidates, k, new TopK());
                    TopK sliced = scorer.topK(mode, user, history, hOff, historyLength, candidates, cOff, candidateCount, k,
                            new TopK());
                    assertSameTopK(own, sliced);
                }
                int k = Math.min(5, candidateCount);
                assertSameTopK(scorer.rescoreTopK(user, ownHistory, ownCandidates, 2 * k, k, new TopK()),
                        scorer.rescoreTopK(user, history, hOff, historyLength, candidates, cOff, candidateCount, 2 * k, k,
                                new TopK()));
            }
        }
    }

    @Test
    void aSliceOutsideItsArrayIsRefusedBeforeAnyWork() {
        Scorer scorer = v1.newScorer();
        long[] candidates = {SyntheticModel.itemId(1), SyntheticModel.itemId(2)};
        float[] out = new float[4];
        assertThrows(IndexOutOfBoundsException.class,
                () -> scorer.score(Mode.TT, 1, new long[3], 2, 2, candidates, 0, 2, out, 0));
        assertThrows(IndexOutOfBoundsException.class,
                () -> scorer.score(Mode.TT, 1, new long[0], 0, 0, candidates, 1, 2, out, 0));
        assertThrows(IndexOutOfBoundsException.class,
                () -> scorer.score(Mode.TT, 1, new long[0], 0, 0, candidates, -1, 1, out, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> scorer.score(Mode.TT, 1, new long[0], 0, 0, candidates, 0, 2, out, 3));
        assertTrue(e.getMessage().contains("from offset 3"), e.getMessage());
        scorer.score(Mode.TT, 1, new long[0], 0, 0, candidates, 0, 2, out, 2); // the scorer still serves
        assertTrue(Float.isFinite(out[3]));
    }

    @Test
    void theModelNamesItsVersionHeadAndIds() {
        assertEquals(TarqDimensions.FORMAT_VERSION_1, v1.formatVersion());
        assertEquals(TarqDimensions.FORMAT_VERSION_2, v2.formatVersion());
        assertFalse(v1.crossHead());
        assertTrue(v2.crossHead());
        long[] items = v1.itemIds();
        assertEquals(ITEMS, items.length);
        assertEquals(SyntheticModel.itemId(0), items[0]);
        assertEquals(SyntheticModel.itemId(ITEMS - 1), items[ITEMS - 1]);
        assertTrue(v1.containsItem(items[17]));
        assertFalse(v1.containsItem(-12345));
        long[] users = v1.userIds();
        assertEquals(v1.dimensions().users(), users.length);
        assertTrue(v1.containsUser(SyntheticModel.userId(3)));
        assertFalse(v1.containsUser(-12345));
        items[0] = -1;
        assertEquals(SyntheticModel.itemId(0), v1.itemIds()[0], "itemIds() returns a copy");
    }

    private static long[] ids(SplittableRandom random, int count) {
        long[] ids = new long[count];
        for (int i = 0; i < count; i++) {
            ids[i] = SyntheticModel.itemId(random.nextInt(ITEMS));
        }
        return ids;
    }

    private static void assertSameTopK(TopK expected, TopK actual) {
        assertEquals(expected.size(), actual.size());
        for (int r = 0; r < expected.size(); r++) {
            assertEquals(expected.position(r), actual.position(r), "position at rank " + r);
            assertEquals(expected.id(r), actual.id(r), "id at rank " + r);
            assertEquals(expected.row(r), actual.row(r), "row at rank " + r);
            assertEquals(expected.score(r), actual.score(r), "score at rank " + r);
        }
    }
}
