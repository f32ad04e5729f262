package io.tarq.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.layout.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The contract's request semantics, top-k, the cascade, threads and the model's lifecycle. */
class ScorerRequestTest {
    static final int ITEMS = 2000;
    static final int USERS = 30;
    static final int N_MAX = 20;

    @TempDir
    static Path dir;
    static Path file;
    static TarqModel model;

    @BeforeAll
    static void open() throws IOException {
        file = dir.resolve("m.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(ITEMS).withUsers(USERS).withNMax(N_MAX).withNullKeys(true), file);
        model = TarqModel.open(file);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static long item(int row) {
        return SyntheticModel.itemId(row);
    }

    static long[] items(int... rows) {
        return Arrays.stream(rows).mapToLong(ScorerRequestTest::item).toArray();
    }

    static float[] scoreIds(Scorer scorer, Mode mode, long user, long[] history, long[] candidates) {
        float[] out = new float[candidates.length];
        scorer.score(mode, user, history, candidates, out);
        return out;
    }

    static float[] scoreRows(Scorer scorer, Mode mode, int user, int[] history, int[] candidates) {
        float[] out = new float[candidates.length];
        scorer.scoreRows(mode, user, history, candidates, out);
        return out;
    }

    @Test
    void idsAndRowsGiveTheSameScores() {
        Scorer scorer = model.newScorer();
        int[] history = {5, 77, 1999, 0, 42};
        int[] candidates = {3, 14, 15, 92, 653, 589, 793};
        for (Mode mode : Mode.values()) {
            assertArrayEquals(scoreRows(scorer, mode, 7, history, candidates),
                    scoreIds(scorer, mode, SyntheticModel.userId(7), items(history), items(candidates)), mode.name());
        }
    }

    /**
     * With L ≤ 4 the id path takes each candidate's codes from its id lookup, otherwise (and always on the rows path)
     * from the candidate-major copy: both give the same TARQ scores, unknown candidates skipped or not.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 4, 5})
    void codesFromTheIdLookupMatchTheGatheredOnes(int levels) throws IOException {
        Path path = dir.resolve("levels-" + levels + ".safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(ITEMS).withUsers(USERS).withNMax(N_MAX)
                .withCodebook(levels, 256).withSeed(levels), path);
        try (TarqModel m = TarqModel.open(path)) {
            assertEquals(levels <= 4, m.file().codesInItemIndex());
            Scorer scorer = m.newScorer().skipUnknownCandidates(true);
            SplittableRandom random = new SplittableRandom(levels);
            int[] candidates = random.ints(777, 0, ITEMS).toArray();
            int[] history = random.ints(9, 0, ITEMS).toArray();
            long[] withUnknown = new long[candidates.length + 2];
            for (int i = 0; i < candidates.length; i++) {
                withUnknown[i + 1] = item(candidates[i]);
            }
            withUnknown[0] = -5;
            withUnknown[withUnknown.length - 1] = 424242;
            for (Mode mode : List.of(Mode.TARQ, Mode.TARQ_F32)) {
                float[] byRows = scoreRows(scorer, mode, 5, history, candidates);
                assertArrayEquals(byRows, scoreIds(scorer, mode, SyntheticModel.userId(5), items(history), items(candidates)),
                        mode + " L=" + levels);
                float[] skipped = scoreIds(scorer, mode, SyntheticModel.userId(5), items(history), withUnknown);
                assertArrayEquals(byRows, Arrays.copyOfRange(skipped, 1, skipped.length - 1), mode + " L=" + levels + " skipping");
            }
        }
    }

    /** A code ≥ K would read another level's table entry: the open refuses it, naming the tensor and the code. */
    @Test
    void aCodeAtOrAboveKIsRefusedAtOpen() throws IOException {
        Path good = dir.resolve("k16.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(ITEMS).withUsers(USERS).withNMax(N_MAX).withCodebook(3, 16), good);
        try (TarqModel m = TarqModel.open(good)) {
            assertEquals(16, m.dimensions().codebookSize());
        }
        // item.codes [L, N]: level 1, row 7.
        Path bad = TarqEngineTest.patchedCopy(good, dir.resolve("k16-bad.safetensors"), "item.codes", ITEMS + 7L,
                ByteBuffer.wrap(new byte[] {16}));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> TarqModel.open(bad));
        assertTrue(e.getMessage().contains("item.codes") && e.getMessage().contains("code 16 at [1, 7]"), e.getMessage());
    }

    @Test
    void anUnknownUserScoresAsRowZero() {
        Scorer scorer = model.newScorer();
        int[] history = {1, 2, 3};
        int[] candidates = {10, 20, 30};
        for (Mode mode : Mode.values()) {
            assertArrayEquals(scoreRows(scorer, mode, 0, history, candidates),
                    scoreIds(scorer, mode, 987_654_321L, items(history), items(candidates)), mode.name());
        }
    }

    @Test
    void unknownBehavioursAreDroppedBeforePositionsAreCounted() {
        Scorer scorer = model.newScorer();
        long[] withUnknown = {item(4), -1, item(8), 31337, item(15)};
        for (Mode mode : Mode.values()) {
            assertArrayEquals(scoreRows(scorer, mode, 3, new int[] {4, 8, 15}, new int[] {16, 23, 42}),
                    scoreIds(scorer, mode, 3, withUnknown, items(16, 23, 42)), mode.name());
        }
    }

    @Test
    void onlyTheNewestNMaxBehavioursAreUsed() {
        Scorer scorer = model.newScorer();
        int[] long_ = IntStream.range(0, N_MAX + 7).map(i -> i * 13).toArray();
        int[] newest = Arrays.copyOfRange(long_, 7, long_.length);
        for (Mode mode : Mode.values()) {
            assertArrayEquals(scoreRows(scorer, mode, 2, newest, new int[] {1, 2, 3}),
                    scoreIds(scorer, mode, 2, items(long_), items(1, 2, 3)), mode.name());
            assertArrayEquals(scoreRows(scorer, mode, 2, newest, new int[] {1, 2, 3}),
                    scoreRows(scorer, mode, 2, long_, new int[] {1, 2, 3}), mode.name() + " rows");
        }
        // And the history matters: a different one changes TA scores.
        float[] a = scoreRows(scorer, Mode.TA, 2, newest, new int[] {1});
        float[] b = scoreRows(scorer, Mode.TA, 2, Arrays.copyOfRange(newest, 1, newest.length), new int[] {1});
        assertTrue(a[0] != b[0]);
    }

    @Test
    void anUnknownCandidateIsAnErrorNamingItUnlessSkipped() {
        Scorer scorer = model.newScorer();
        long[] candidates = {item(1), 424242, item(3)};
        UnknownCandidateException e = assertThrows(UnknownCandidateException.class,
                () -> scoreIds(scorer, Mode.TARQ, 1, items(5), candidates));
        assertEquals(424242, e.id());
        assertEquals(1, e.position(), "from 0");
        assertEquals("candidate id 424242 at candidates[1] is not in the catalog", e.getMessage());

        scorer.skipUnknownCandidates(true);
        for (Mode mode : Mode.values()) {
            float[] skipped = scoreIds(scorer, mode, 1, items(5), candidates);
            float[] known = scoreIds(scorer, mode, 1, items(5), items(1, 3));
            assertTrue(Float.isNaN(skipped[1]), mode.name());
            assertEquals(known[0], skipped[0], mode.name());
            assertEquals(known[1], skipped[2], mode.name());
            TopK top = scorer.topK(mode, 1, items(5), candidates, 3, new TopK());
            assertEquals(2, top.size(), "a skipped candidate never enters a top-k");
        }
    }

    @Test
    void badRowsAndShortOutputsAreRefusedBeforeAnyWork() {
        Scorer scorer = model.newScorer();
        assertThrows(IllegalArgumentException.class, () -> scoreRows(scorer, Mode.TT, USERS, new int[0], new int[] {1}));
        assertThrows(IllegalArgumentException.class, () -> scoreRows(scorer, Mode.TT, 0, new int[] {ITEMS}, new int[] {1}));
        assertThrows(IllegalArgumentException.class, () -> scoreRows(scorer, Mode.TT, 0, new int[0], new int[] {-1}));
        assertThrows(IllegalArgumentException.class, () -> scorer.scoreRows(Mode.TT, 0, new int[0], new int[] {1, 2}, new float[1]));
    }

    @Test
    void topKIsTheBestKBestFirstWithTiesToTheLowerPosition() {
        Scorer scorer = model.newScorer();
        SplittableRandom random = new SplittableRandom(5);
        for (Mode mode : Mode.values()) {
            int[] rows = random.ints(500, 0, ITEMS).toArray();
            rows[100] = rows[7]; // a duplicate candidate: equal scores, the lower position must win
            long[] ids = Arrays.stream(rows).mapToLong(ScorerRequestTest::item).toArray();
            long[] history = items(9, 99, 999);
            float[] scores = scoreIds(scorer, mode, 4, history, ids);
            for (int k : new int[] {0, 1, 10, 100, 500, 600}) {
                TopK top = scorer.topK(mode, 4, history, ids, k, new TopK());
                Integer[] order = IntStream.range(0, ids.length).boxed().toArray(Integer[]::new);
                Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -scores[i]).thenComparingInt(i -> i));
                assertEquals(Math.min(k, ids.length), top.size());
                for (int r = 0; r < top.size(); r++) {
                    assertEquals(order[r], top.position(r), mode + " k=" + k + " rank " + r);
                    assertEquals(scores[order[r]], top.score(r));
                    assertEquals(rows[order[r]], top.row(r));
                    assertEquals(ids[order[r]], top.id(r));
                }
            }
        }
    }

    @Test
    void topKDoesNotDependOnCandidateOrder() {
        Scorer scorer = model.newScorer();
        SplittableRandom random = new SplittableRandom(6);
        long[] ids = random.ints(300, 0, ITEMS).distinct().mapToLong(ScorerRequestTest::item).toArray();
        long[] shuffled = ids.clone();
        for (int i = shuffled.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            long t = shuffled[i];
            shuffled[i] = shuffled[j];
            shuffled[j] = t;
        }
        TopK a = scorer.topK(Mode.TARQ, 3, items(1, 2), ids, 25, new TopK());
        TopK b = scorer.topK(Mode.TARQ, 3, items(1, 2), shuffled, 25, new TopK());
        for (int r = 0; r < 25; r++) {
            assertEquals(a.id(r), b.id(r));
            assertEquals(a.score(r), b.score(r));
        }
    }

    @Test
    void rescoreTopKIsTheTaTopKOfTheTarqTopKPrime() {
        Scorer scorer = model.newScorer();
        SplittableRandom random = new SplittableRandom(8);
        long[] ids = random.ints(1000, 0, ITEMS).mapToLong(ScorerRequestTest::item).toArray();
        long[] history = items(11, 22, 33, 44);
        float[] tarq = scoreIds(scorer, Mode.TARQ, 6, history, ids);
        float[] ta = scoreIds(scorer, Mode.TA, 6, history, ids);
        Integer[] byTarq = IntStream.range(0, ids.length).boxed().toArray(Integer[]::new);
        Arrays.sort(byTarq, Comparator.<Integer>comparingDouble(i -> -tarq[i]).thenComparingInt(i -> i));
        List<Integer> survivors = new ArrayList<>(Arrays.asList(byTarq).subList(0, 200));
        survivors.sort(Comparator.<Integer>comparingDouble(i -> -ta[i]).thenComparingInt(i -> i));
        TopK top = scorer.rescoreTopK(6, history, ids, 200, 20, new TopK());
        assertEquals(20, top.size());
        for (int r = 0; r < 20; r++) {
            int position = survivors.get(r);
            assertEquals(position, top.position(r), "rank " + r);
            assertEquals(ids[position], top.id(r));
            assertEquals(ta[position], top.score(r), 1e-6f * Math.max(1, Math.abs(ta[position])));
        }
        assertThrows(IllegalArgumentException.class, () -> scorer.rescoreTopK(6, history, ids, 10, 20, new TopK()));
    }

    @Test
    void eightThreadsSharingOneModelGiveTheSingleThreadResults() throws Exception {
        SplittableRandom random = new SplittableRandom(10);
        int requests = 40;
        long[][] histories = new long[requests][];
        long[][] candidates = new long[requests][];
        float[][][] expected = new float[requests][Mode.values().length][];
        Scorer single = model.newScorer();
        for (int r = 0; r < requests; r++) {
            histories[r] = random.ints(random.nextInt(N_MAX + 5), 0, ITEMS).mapToLong(ScorerRequestTest::item).toArray();
            candidates[r] = random.ints(200 + random.nextInt(300), 0, ITEMS).mapToLong(ScorerRequestTest::item).toArray();
            for (Mode mode : Mode.values()) {
                expected[r][mode.ordinal()] = scoreIds(single, mode, r % USERS, histories[r], candidates[r]);
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int offset = t;
                futures.add(pool.submit(() -> {
                    Scorer scorer = model.newScorer();
                    for (int i = 0; i < 3 * requests; i++) {
                        int r = (i * 7 + offset) % requests;
                        for (Mode mode : Mode.values()) {
                            assertArrayEquals(expected[r][mode.ordinal()],
                                    scoreIds(scorer, mode, r % USERS, histories[r], candidates[r]), "request " + r + " " + mode);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void twoThreadsInsideOneScorerGetAnErrorNeverWrongScores() throws Exception {
        // Misuse: one scorer shared by two threads. Every call either returns the single-thread scores or throws
        // IllegalStateException naming the rule; overlapping calls must be seen (TA requests take long enough).
        SplittableRandom random = new SplittableRandom(11);
        long[] history = random.ints(N_MAX, 0, ITEMS).mapToLong(ScorerRequestTest::item).toArray();
        long[][] candidates = new long[2][];
        float[][] expected = new float[2][];
        Scorer shared = model.newScorer();
        for (int t = 0; t < 2; t++) {
            candidates[t] = random.ints(1500, 0, ITEMS).mapToLong(ScorerRequestTest::item).toArray();
            expected[t] = scoreIds(shared, Mode.TA, 3 + t, history, candidates[t]);
        }
        java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger served = new java.util.concurrent.atomic.AtomicInteger();
        long deadline = System.nanoTime() + 20_000_000_000L;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int own = t;
                futures.add(pool.submit(() -> {
                    float[] out = new float[candidates[own].length];
                    while (refused.get() < 20 && System.nanoTime() < deadline) {
                        try {
                            shared.score(Mode.TA, 3 + own, history, candidates[own], out);
                            assertArrayEquals(expected[own], out, "thread " + own);
                            served.incrementAndGet();
                        } catch (IllegalStateException e) {
                            assertTrue(e.getMessage().contains("one thread at a time"), e.getMessage());
                            refused.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(refused.get() > 0, "no overlapping call was refused in " + served.get() + " calls");
        // Released after every call, refused or not: the scorer still serves one thread.
        assertArrayEquals(expected[0], scoreIds(shared, Mode.TA, 3, history, candidates[0]));
    }

    @Test
    void aScorerOfAClosedModelThrowsInsteadOfCrashing() throws IOException {
        TarqModel own = TarqModel.open(file);
        Scorer scorer = own.newScorer();
        scoreIds(scorer, Mode.TARQ, 1, items(1), items(2));
        own.close();
        for (Mode mode : Mode.values()) {
            assertThrows(IllegalStateException.class, () -> scoreIds(scorer, mode, 1, items(1), items(2)));
            assertThrows(IllegalStateException.class, () -> scoreRows(scorer, mode, 1, new int[] {1}, new int[] {2}));
        }
        assertThrows(IllegalStateException.class, own::newScorer);
    }
}
