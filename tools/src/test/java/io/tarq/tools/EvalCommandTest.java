package io.tarq.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.tools.TarqCliTest.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tarq eval} on a synthetic model: counts, output, and the exit code and one line of every failure. */
class EvalCommandTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path sequences;

    static Run run(String... args) {
        return TarqCliTest.run(args);
    }

    @BeforeAll
    static void synthesize() throws IOException {
        model = dir.resolve("m.safetensors");
        Run synth = run("synth", "--items", "300", "--users", "30", "--seed", "2", "--dim", "16", "--heads", "2",
                "--tower-dim", "16", "--mlp-hidden", "16", "--n-max", "8", "--levels", "2", "--codebook", "16",
                "--out", model.toString());
        assertEquals(0, synth.exit(), synth.err());
        // Users 1..25 are in the model (ids = rows), 500 is not; item 5 is not in the model: user 3's test target,
        // user 4's history.
        StringBuilder text = new StringBuilder();
        SplittableRandom random = new SplittableRandom(1);
        for (long user : new long[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 20, 25, 500}) {
            text.append(user);
            int length = 3 + random.nextInt(15);
            for (int t = 0; t < length; t++) {
                boolean unknown = (user == 3 && t == length - 1) || (user == 4 && t == 0);
                text.append(' ').append(unknown ? 5 : SyntheticModel.itemId(random.nextInt(300)));
            }
            text.append('\n');
        }
        sequences = Files.writeString(dir.resolve("seq.txt"), text);
    }

    @Test
    void evaluatesEveryModeAndCountsWhatTheModelDoesNotKnow() {
        Run r = run("eval", model.toString(), "--format", "s3rec", "--sequences", sequences.toString(), "--json");
        assertEquals(0, r.exit(), r.err());
        String json = r.out().strip();
        assertEquals(18, number(json, "rows") + number(json, "skipped_rows"), json);
        assertTrue(number(json, "skipped_rows") >= 1, json);
        assertTrue(number(json, "unknown_candidates") >= number(json, "skipped_rows"), json);
        assertEquals(1, number(json, "unknown_users"), json);
        assertEquals(1, number(json, "unknown_behaviours"), json);
        for (String mode : new String[] {"tt", "ta", "tarq", "tarq-f32"}) {
            double auc = Double.parseDouble(object(json, "auc").replaceAll(".*\"" + mode + "\":([-0-9.Ee]+).*", "$1"));
            assertTrue(auc >= 0 && auc <= 1, json);
        }
        assertTrue(object(json, "fidelity").contains("\"recall_at_10\":"), json);

        Run text = run("eval", model.toString(), "--format", "s3rec", "--sequences", sequences.toString(), "--split", "validation");
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().contains("(validation split, split seed 0, 99 negatives a row)"), text.out());
        assertTrue(text.out().contains("tarq-f32"), text.out());
    }

    @Test
    void aMalformedLineIsOneLineNamingFileAndLineAndExitsOne() throws IOException {
        Path bad = Files.writeString(dir.resolve("bad.txt"), "1 2 3\n\n2 3 x\n");
        Run r = run("eval", model.toString(), "--format", "s3rec", "--sequences", bad.toString());
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertEquals("tarq eval: " + bad + ": line 3: 'x' is not an integer item id", r.err().strip());

        Path missing = dir.resolve("missing.txt");
        r = run("eval", model.toString(), "--format", "s3rec", "--sequences", missing.toString());
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertEquals("tarq eval: " + missing + ": cannot open: No such file or directory", r.err().strip());

        r = run("eval", model.toString(), "--format", "movielens", "--dir", missing.toString());
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertEquals("tarq eval: " + missing + ": no such directory", r.err().strip());

        Path ml = Files.createDirectories(dir.resolve("ml"));
        Files.writeString(ml.resolve("ratings.csv"), "userId,movieId,rating,timestamp\r\n1,1000,4.0,5\r\n1,x,3,6\r\n");
        r = run("eval", model.toString(), "--format", "movielens", "--dir", ml.toString());
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertEquals("tarq eval: " + ml.resolve("ratings.csv") + ": line 3: 'x' is not an integer movieId", r.err().strip());

        Path noModel = dir.resolve("none.safetensors");
        r = run("eval", noModel.toString(), "--format", "s3rec", "--sequences", sequences.toString());
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(noModel.toString()), r.err());
    }

    @Test
    void tooFewUntouchedItemsIsTheTrainersMessage() {
        Run r = run("eval", model.toString(), "--format", "s3rec", "--sequences", sequences.toString(), "--negatives", "500");
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertTrue(r.err().startsWith("tarq eval: dataset 'seq': user 1 (row 1) touched "), r.err());
        assertTrue(r.err().strip().endsWith("fewer than 500 are left to sample as negatives"), r.err());
    }

    @Test
    void usageErrorsExitTwo() {
        String m = model.toString(), s = sequences.toString();
        for (String[] args : new String[][] {
                {"eval", m, "--format", "s3rec"},
                {"eval", m, "--format", "movielens"},
                {"eval", m, "--format", "csv", "--sequences", s},
                {"eval", m, "--format", "s3rec", "--sequences", s, "--split", "train"},
                {"eval", m, "--format", "s3rec", "--sequences", s, "--negatives", "0"},
                {"eval", m, "--format", "s3rec", "--sequences", s, "--dir", s},
                {"eval", m, "--sequences", s}}) {
            Run r = run(args);
            assertEquals(TarqCli.EXIT_USAGE, r.exit(), String.join(" ", args) + ": " + r.err());
            TarqCliTest.assertOneUsageLine("tarq eval", r);
        }
    }

    private static long number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":(-?[0-9]+)[,}]").matcher(json);
        assertTrue(m.find(), key + " in " + json);
        return Long.parseLong(m.group(1));
    }

    private static String object(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":\\{([^}]*)}").matcher(json);
        assertTrue(m.find(), key + " in " + json);
        return m.group(1);
    }
}
