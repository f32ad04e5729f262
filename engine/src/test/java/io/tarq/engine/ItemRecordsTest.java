package io.tarq.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ItemVectors#RECORDS} changes where the rows are read from, never a logit. */
class ItemRecordsTest {
    static final int ITEMS = 3000;

    @TempDir
    Path dir;

    @Test
    void recordsScoreEveryModeWithTheBitsOfTheFloatRows() throws IOException {
        Path file = dir.resolve("v2.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(ITEMS).withUsers(20).withNMax(32).withCrossDim(16), file);
        for (String kernels : new String[] {"scalar", "panama"}) {
            try (TarqModel floats = TarqModel.open(file, EngineParityTest.kernels(kernels), ItemVectors.FLOAT32);
                 TarqModel records = TarqModel.open(file, EngineParityTest.kernels(kernels), ItemVectors.RECORDS)) {
                assertEquals(ItemVectors.RECORDS, records.itemVectors());
                assertSameScores(floats, records, kernels);
            }
        }
    }

    @Test
    void aVersionOneModelHasNoRecordsAndScoresAsFloat32() throws IOException {
        Path file = dir.resolve("v1.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(ITEMS).withUsers(20).withNMax(32), file);
        try (TarqModel floats = TarqModel.open(file, ItemVectors.FLOAT32);
             TarqModel records = TarqModel.open(file, ItemVectors.RECORDS)) {
            assertEquals(ItemVectors.FLOAT32, records.itemVectors());
            assertSameScores(floats, records, "default");
        }
    }

    private static void assertSameScores(TarqModel a, TarqModel b, String kernels) {
        Scorer sa = a.newScorer().skipUnknownCandidates(true), sb = b.newScorer().skipUnknownCandidates(true);
        SplittableRandom random = new SplittableRandom(5);
        for (int trial = 0; trial < 12; trial++) {
            int m = random.nextInt(1, 700);
            long[] candidates = new long[m];
            for (int i = 0; i < m; i++) {
                candidates[i] = random.nextInt(40) == 0 ? -1 - i : SyntheticModel.itemId(random.nextInt(ITEMS));
            }
            long[] history = new long[random.nextInt(0, 40)];
            for (int i = 0; i < history.length; i++) {
                history[i] = SyntheticModel.itemId(random.nextInt(ITEMS));
            }
            long user = SyntheticModel.userId(random.nextInt(20));
            for (Mode mode : Mode.values()) {
                float[] fa = new float[m], fb = new float[m];
                sa.score(mode, user, history, candidates, fa);
                sb.score(mode, user, history, candidates, fb);
                assertArrayEquals(fa, fb, mode + " with " + kernels + " kernels, trial " + trial);
            }
            TopK ta = sa.rescoreTopK(user, history, candidates, 50, 10, new TopK());
            TopK tb = sb.rescoreTopK(user, history, candidates, 50, 10, new TopK());
            for (int r = 0; r < ta.size(); r++) {
                assertEquals(ta.id(r), tb.id(r));
                assertEquals(ta.score(r), tb.score(r));
            }
        }
    }
}
