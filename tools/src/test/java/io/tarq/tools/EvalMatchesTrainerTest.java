package io.tarq.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tarq eval} gives the trainer's {@code metrics.json} for the model it trained on the same data: a tiny model is
 * trained by {@code python3 -m tarq.train} (Debian's PyTorch) on a small s3rec file and a small MovieLens directory
 * written here, then evaluated by the engine. Engine tt = joint_tt, ta = ta, tarq-f32 = tarq (the trainer's student
 * scores with float tables), fidelity = fidelity.
 *
 * <p>Tolerances: AUC and GAUC 2e-4 (float32 logits of two implementations can swap near-ties; measured agreement is
 * about 1e-7), logloss 1e-5, Spearman 1e-3, recall@10 2e-3 (one swapped top-10 member moves it by 0.1 / users).
 */
class EvalMatchesTrainerTest {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static Path pythonPath;

    @TempDir
    static Path dir;

    @BeforeAll
    static void findTorch() throws Exception {
        pythonPath = Path.of(System.getProperty("tarq.root", "..")).resolve("tools/python").toAbsolutePath();
        assumeTrue(Files.isExecutable(PYTHON), "no " + PYTHON);
        assumeTrue(python("-c", "import numpy, torch").startsWith("0\n"), "python3 has no torch (apt-get install python3-torch)");
    }

    /** Exit code, a newline, then stdout and stderr. */
    static String python(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PYTHON.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("PYTHONPATH", pythonPath.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("python " + String.join(" ", args) + " did not finish");
        }
        return p.exitValue() + "\n" + out;
    }

    /** Trains the tiny model on the data flags given; returns the model file. */
    static Path train(String name, String... dataFlags) throws Exception {
        Path model = dir.resolve(name + ".safetensors");
        List<String> args = new ArrayList<>(List.of("-m", "tarq.train"));
        args.addAll(List.of(dataFlags));
        args.addAll(List.of("--out", model.toString(), "--epochs", "2", "--dim", "16", "--heads", "2", "--dv", "16",
                "--mlp-hidden", "24", "--n-max", "12", "--levels", "2", "--codebook", "8", "--quiet", "--no-baseline",
                "--threads", "1"));
        String out = python(args.toArray(String[]::new));
        assertTrue(out.startsWith("0\n"), out);
        return model;
    }

    /** Users who each like 2 of 6 item groups, mostly behaving within them: structure a model can learn. */
    static List<long[]> behaviours(int users, int items, int seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<long[]> out = new ArrayList<>();
        for (int u = 0; u < users; u++) {
            int a = random.nextInt(6), b = random.nextInt(6);
            long[] s = new long[4 + random.nextInt(14)];
            for (int t = 0; t < s.length; t++) {
                int group = random.nextInt(10) < 8 ? (random.nextBoolean() ? a : b) : random.nextInt(6);
                s[t] = group + 6L * random.nextInt(items / 6);
            }
            out.add(s);
        }
        return out;
    }

    @Test
    void s3recMatchesTheTrainersMetrics() throws Exception {
        StringBuilder text = new StringBuilder();
        List<long[]> data = behaviours(260, 150, 3);
        for (int u = 0; u < data.size(); u++) {
            text.append(10 + 3 * (data.size() - u));  // users out of order, sparse ids
            for (long item : data.get(u)) {
                text.append(' ').append(100 + 7 * item);
            }
            text.append('\n');
        }
        Path file = Files.writeString(dir.resolve("tiny.txt"), text);
        Path model = train("s3rec", "--format", "s3rec", "--sequences", file.toString());
        assertMatches(model, "--format", "s3rec", "--sequences", file.toString());
    }

    @Test
    void movielensMatchesTheTrainersMetrics() throws Exception {
        StringBuilder ratings = new StringBuilder("userId,movieId,rating,timestamp\r\n");
        List<long[]> data = behaviours(220, 120, 8);
        SplittableRandom random = new SplittableRandom(5);
        for (int u = 0; u < data.size(); u++) {
            long time = 900_000_000L + random.nextInt(1000);
            for (long movie : data.get(u)) {
                time += random.nextInt(3); // equal timestamps: file order decides
                ratings.append(u + 1).append(',').append(movie + 1).append(',')
                        .append(String.format(Locale.ROOT, "%.1f", 0.5 * (1 + random.nextInt(10)))).append(',').append(time).append("\r\n");
            }
        }
        Path ml = Files.createDirectories(dir.resolve("ml-tiny"));
        Files.writeString(ml.resolve("ratings.csv"), ratings);
        StringBuilder movies = new StringBuilder("movieId,title,genres\r\n");
        for (int m = 1; m <= 120; m++) {
            movies.append(m).append(",\"Movie ").append(m).append(", The (2001)\",Drama|G").append(m % 6).append("\r\n");
        }
        Files.writeString(ml.resolve("movies.csv"), movies);
        Path model = train("movielens", "--format", "movielens", "--dir", ml.toString());
        assertMatches(model, "--format", "movielens", "--dir", ml.toString());
    }

    private static void assertMatches(Path model, String... dataFlags) throws Exception {
        Map<String, Double> trainer = trainerMetrics(model);
        List<String> args = new ArrayList<>(List.of("eval", model.toString()));
        args.addAll(List.of(dataFlags));
        args.add("--json");
        StringWriter out = new StringWriter(), err = new StringWriter();
        int exit = TarqCli.run(args.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, exit, err.toString());
        String json = out.toString();
        assertEquals(0, (int) value(json, "skipped_rows"), json);
        assertEquals(trainer.get("test_users"), value(json, "rows"), json);
        String report = "engine " + json + "\ntrainer " + trainer;
        for (String metric : new String[] {"auc", "gauc"}) {
            assertEquals(trainer.get("joint_tt." + metric), value(json, metric + ".tt"), 2e-4, report);
            assertEquals(trainer.get(metric + ".ta"), value(json, metric + ".ta"), 2e-4, report);
            assertEquals(trainer.get(metric + ".tarq"), value(json, metric + ".tarq-f32"), 2e-4, report);
        }
        assertEquals(trainer.get("logloss.tt"), value(json, "logloss.tt"), 1e-5, report); // tt_source is "joint"
        assertEquals(trainer.get("logloss.ta"), value(json, "logloss.ta"), 1e-5, report);
        assertEquals(trainer.get("logloss.tarq"), value(json, "logloss.tarq-f32"), 1e-5, report);
        assertEquals(trainer.get("fidelity.spearman"), value(json, "fidelity.spearman"), 1e-3, report);
        assertEquals(trainer.get("fidelity.recall_at_10"), value(json, "fidelity.recall_at_10"), 2e-3, report);
        System.out.printf(Locale.ROOT, "%s: trainer auc ta %.4f; |engine - trainer| auc tt %.1e ta %.1e tarq %.1e; gauc tarq %.1e; spearman %.1e%n",
                model.getFileName(), trainer.get("auc.ta"), Math.abs(trainer.get("joint_tt.auc") - value(json, "auc.tt")),
                Math.abs(trainer.get("auc.ta") - value(json, "auc.ta")), Math.abs(trainer.get("auc.tarq") - value(json, "auc.tarq-f32")),
                Math.abs(trainer.get("gauc.tarq") - value(json, "gauc.tarq-f32")),
                Math.abs(trainer.get("fidelity.spearman") - value(json, "fidelity.spearman")));
    }

    /** MODEL.metrics.json flattened by Python's json ("auc.ta", "joint_tt.auc", ...), numbers only. */
    private static Map<String, Double> trainerMetrics(Path model) throws Exception {
        String out = python("-c", """
                import json, sys
                m = json.load(open(sys.argv[1]))
                assert m["tt_source"] == "joint", m["tt_source"]
                for k, v in m.items():
                    if isinstance(v, dict):
                        for kk, vv in v.items():
                            if isinstance(vv, (int, float)):
                                print(f"{k}.{kk}={vv!r}")
                    elif isinstance(v, (int, float)):
                        print(f"{k}={v!r}")
                """, model + ".metrics.json");
        assertTrue(out.startsWith("0\n"), out);
        Map<String, Double> values = new HashMap<>();
        out.lines().skip(1).forEach(line -> {
            int eq = line.indexOf('=');
            values.put(line.substring(0, eq), Double.parseDouble(line.substring(eq + 1)));
        });
        return values;
    }

    /** {@code "a"} or {@code "a.b"} (a key inside the object "a") of the eval command's one-line JSON. */
    private static double value(String json, String key) {
        String scope = json;
        String name = key;
        int dot = key.indexOf('.');
        if (dot > 0) {
            Matcher m = Pattern.compile("\"" + Pattern.quote(key.substring(0, dot)) + "\":\\{([^}]*)}").matcher(json);
            assertTrue(m.find(), key + " in " + json);
            scope = m.group(1);
            name = key.substring(dot + 1);
        }
        Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\":([-+0-9.Ee]+)").matcher(scope);
        assertTrue(m.find(), key + " in " + json);
        return Double.parseDouble(m.group(1));
    }
}
