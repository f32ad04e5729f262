package io.tarq.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A request over a limit is refused, naming the field, before any id is looked up or any buffer grows. */
class RequestLimitsTest {
    static final RequestLimits SMALL = new RequestLimits(10, 5, 3);

    @TempDir
    static Path dir;
    static TarqModel model;

    @BeforeAll
    static void open() throws IOException {
        Path file = dir.resolve("m.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(100).withUsers(5).withNMax(4), file);
        model = TarqModel.open(file);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static long[] ids(int count) {
        return LongStream.range(0, count).map(SyntheticModel::itemId).toArray();
    }

    @Test
    void theDefaultsAreDocumented() {
        assertEquals(new RequestLimits(100_000, 10_000, 100_000), RequestLimits.DEFAULT);
        assertEquals(RequestLimits.DEFAULT, model.newScorer().limits());
    }

    @Test
    void tooManyCandidatesAreRefusedBeforeTheirIdsAreLookedUp() {
        Scorer scorer = model.newScorer().limits(SMALL);
        long[] candidates = ids(11);
        candidates[3] = -42; // unknown: a lookup would throw UnknownCandidateException instead
        RequestLimitException e = assertThrows(RequestLimitException.class,
                () -> scorer.score(Mode.TARQ, 1, ids(2), candidates, new float[11]));
        assertEquals("candidates", e.field());
        assertEquals(11, e.size());
        assertEquals(10, e.limit());
        assertThrows(RequestLimitException.class, () -> scorer.scoreRows(Mode.TT, 0, new int[0], new int[11], new float[11]));
        scorer.score(Mode.TARQ, 1, ids(2), ids(10), new float[10]); // at the limit: served
    }

    @Test
    void aHistoryOverTheLimitIsRefusedOneWithinItIsTrimmedToNMax() {
        Scorer scorer = model.newScorer().limits(SMALL);
        RequestLimitException e = assertThrows(RequestLimitException.class,
                () -> scorer.score(Mode.TT, 1, ids(6), ids(3), new float[3]));
        assertEquals("request history: 6 is over the limit of 5", e.getMessage());
        assertThrows(RequestLimitException.class, () -> scorer.scoreRows(Mode.TT, 0, new int[6], new int[1], new float[1]));
        // 5 behaviours, n_max = 4: the contract's trimming, the newest 4 count.
        float[] five = new float[3];
        float[] newestFour = new float[3];
        long[] history = ids(5);
        scorer.score(Mode.TA, 1, history, ids(3), five);
        scorer.score(Mode.TA, 1, java.util.Arrays.copyOfRange(history, 1, 5), ids(3), newestFour);
        org.junit.jupiter.api.Assertions.assertArrayEquals(newestFour, five);
    }

    @Test
    void kAndKPrimeOverTheLimitOrNegativeAreRefused() {
        Scorer scorer = model.newScorer().limits(SMALL);
        assertEquals("k", assertThrows(RequestLimitException.class,
                () -> scorer.topK(Mode.TT, 1, ids(1), ids(5), 4, new TopK())).field());
        assertEquals("kPrime", assertThrows(RequestLimitException.class,
                () -> scorer.rescoreTopK(1, ids(1), ids(5), 4, 2, new TopK())).field());
        assertThrows(IllegalArgumentException.class, () -> scorer.topK(Mode.TT, 1, ids(1), ids(5), -1, new TopK()));
        assertThrows(IllegalArgumentException.class, () -> scorer.rescoreTopK(1, ids(1), ids(5), -3, -5, new TopK()));
        assertEquals(3, scorer.topK(Mode.TT, 1, ids(1), ids(5), 3, new TopK()).size());
        // k above a request's candidate count (within the limit) returns them all.
        assertEquals(2, scorer.topK(Mode.TT, 1, ids(1), ids(2), 3, new TopK()).size());
    }

    @Test
    void limitsThemselvesMustBeUsable() {
        assertThrows(IllegalArgumentException.class, () -> new RequestLimits(0, 5, 5));
        assertThrows(IllegalArgumentException.class, () -> new RequestLimits(5, -1, 5));
        assertThrows(IllegalArgumentException.class, () -> new RequestLimits(5, 5, -1));
        assertThrows(NullPointerException.class, () -> model.newScorer().limits(null));
    }
}
