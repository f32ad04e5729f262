package io.tarq.tools.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java readers and split against the trainer's ({@code tarq.data}, run with /usr/bin/python3 and numpy): the same
 * catalog, the same evaluation rows (user, history, target, sampled negatives in external ids), and the same one-line
 * message for each malformed file, compared as text.
 */
class DataInteropTest {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    /** Prints, for each case "format|path|seed|split|negatives|min_rating" of argv, what the trainer reads, or its error. */
    private static final String DUMP = """
            import sys
            from tarq.data import DataError, leave_one_out, read_movielens, read_s3rec
            for case in sys.argv[1:]:
                fmt, path, seed, split, k, min_rating = case.split("|")
                print("=== " + case)
                try:
                    ds = read_s3rec(path) if fmt == "s3rec" else read_movielens(path, float(min_rating) if min_rating else None)
                    sp = leave_one_out(ds, n_max=1000, eval_negatives=int(k), seed=int(seed))
                except (DataError, ValueError) as e:
                    print("error", e)
                    continue
                ex = sp.test if split == "test" else sp.validation
                print("name", ds.name)
                print("items", *ds.item_ids.tolist())
                for r in range(len(ex)):
                    u = int(ex.users[r])
                    print("row", u, ds.user_ids[u], "|", *ds.item_ids[ex.history(r)].tolist(), "|",
                          *ds.item_ids[ex.candidates[r]].tolist())
            """;
    private static Path pythonPath;

    @TempDir
    Path dir;

    @BeforeAll
    static void findPython() throws Exception {
        pythonPath = Path.of(System.getProperty("tarq.root", "..")).resolve("tools/python").toAbsolutePath();
        assumeTrue(Files.isExecutable(PYTHON), "no " + PYTHON);
        Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import numpy").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assumeTrue(p.waitFor() == 0, "python3 has no numpy (apt-get install python3-numpy)");
    }

    /** Java's version of DUMP for one case. */
    private static String javaDump(String c) {
        String[] f = c.split("\\|", -1);
        StringBuilder b = new StringBuilder("=== " + c + "\n");
        try {
            SequenceDataset ds = f[0].equals("s3rec") ? S3RecReader.read(Path.of(f[1]), null)
                    : MovieLensReader.read(Path.of(f[1]), f[5].isEmpty() ? null : Double.parseDouble(f[5]));
            int split = f[3].equals("test") ? PortableNegatives.TEST : PortableNegatives.VALIDATION;
            LeaveOneOut rows = LeaveOneOut.evaluation(ds, split, Long.parseLong(f[2]), Integer.parseInt(f[4]));
            b.append("name ").append(ds.name()).append('\n');
            b.append("items");
            for (long id : ds.itemIds()) {
                b.append(' ').append(id);
            }
            b.append('\n');
            for (int r = 0; r < rows.size(); r++) {
                b.append("row ").append(rows.userRows()[r]).append(' ').append(rows.userIds()[r]).append(" |");
                for (long id : rows.histories()[r]) {
                    b.append(' ').append(id);
                }
                b.append(" |");
                for (long id : rows.candidates()[r]) {
                    b.append(' ').append(id);
                }
                b.append('\n');
            }
        } catch (DataFormatException | IllegalArgumentException e) {
            b.append("error ").append(e.getMessage()).append('\n');
        }
        return b.toString();
    }

    private static String python(List<String> args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PYTHON.toString()));
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("PYTHONPATH", pythonPath.toString());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("python did not finish");
        }
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    private void assertSameAsPython(List<String> cases) throws Exception {
        List<String> args = new ArrayList<>(List.of("-c", DUMP));
        args.addAll(cases);
        String expected = python(args);
        String actual = cases.stream().map(DataInteropTest::javaDump).collect(Collectors.joining());
        assertEquals(expected, actual);
    }

    private Path write(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return p;
    }

    private static String s3rec(Path p, int negatives) {
        return "s3rec|" + p + "|0|test|" + negatives + "|";
    }

    @Test
    void s3recCatalogRowsAndNegativesAreTheTrainers() throws Exception {
        // Users out of order, sparse and negative item ids, CRLF, tabs, blank lines, a user too short to evaluate,
        // a repeated item, a leading byte-order mark.
        StringBuilder text = new StringBuilder("\uFEFF");
        java.util.SplittableRandom random = new java.util.SplittableRandom(4);
        for (int u = 40; u > 0; u--) {
            int length = u == 7 ? 2 : 3 + random.nextInt(12);
            text.append(u * 13 % 97).append(u % 5 == 0 ? "\t" : " ");
            for (int t = 0; t < length; t++) {
                long item = random.nextInt(90) * 11L - 30;
                text.append(item).append(t + 1 < length ? " " : "");
            }
            text.append(u % 3 == 0 ? "\r\n" : "\n").append(u % 9 == 0 ? "\n  \n" : "");
        }
        text.append(" 5000 1 1 2 2 3 ");
        Path file = write("Small.seq.txt", text.toString());
        assertSameAsPython(List.of(s3rec(file, 20), s3rec(file, 0), "s3rec|" + file + "|7|validation|5|",
                s3rec(file, 89)));
    }

    @Test
    void movielensOrderTiesAndMinRatingAreTheTrainers() throws Exception {
        StringBuilder ratings = new StringBuilder("userId,movieId,rating,timestamp\r\n");
        java.util.SplittableRandom random = new java.util.SplittableRandom(9);
        for (int row = 0; row < 400; row++) {
            int user = 1 + random.nextInt(25);
            int movie = 1 + random.nextInt(150) * 3;
            double rating = 0.5 * (1 + random.nextInt(10));
            long time = 1_000_000 + random.nextInt(40); // many equal timestamps within a user
            ratings.append(user).append(',').append(movie).append(',').append(rating).append(',').append(time).append("\r\n");
        }
        ratings.append("\r\n3,\"9\",4,999\r\n");
        Path ml = dir.resolve("ml-tiny");
        write("ml-tiny/ratings.csv", ratings.toString());
        write("ml-tiny/movies.csv", "movieId,title,genres\r\n1,\"Toy Story, the (1995)\",Animation|Children\r\n"
                + "2,\"A \"\"quoted\"\"\nline break\",(no genres listed)\r\n");
        assertSameAsPython(List.of("movielens|" + ml + "|0|test|30|", "movielens|" + ml + "|3|validation|30|",
                "movielens|" + ml + "|0|test|30|3.5", "movielens|" + ml + "|0|test|30|6"));
    }

    @Test
    void malformedFilesGetTheTrainersOneLineMessage() throws Exception {
        List<String> cases = new ArrayList<>();
        String[] s3recFiles = {
                "1 2 3\n2 4 x5\n", "1 2 3\nabc 1 2\n", "1 2 3\n2\n", "1 2 3\n\n1 4 5 6\n", "-1 2 3 4\n",
                "1 2 3 4\n2 99999999999999999999 1\n", "1 2\u000b3 4\n", "   \n\t\n", "1 2 3\n2 3 4 'q\"\n",
                "1 2 3\n2 3 \u00e9\u0301\u200b4\n", "1 2 3\n2 3 " + "9".repeat(50) + "x\n"};
        for (int i = 0; i < s3recFiles.length; i++) {
            cases.add(s3rec(write("bad" + i + ".txt", s3recFiles[i]), 1));
        }
        Path notUtf8 = dir.resolve("latin1.txt");
        Files.write(notUtf8, new byte[] {'1', ' ', '2', ' ', '3', '\n', '2', ' ', (byte) 0xe9, ' ', '4', '\n'});
        cases.add(s3rec(notUtf8, 1));
        cases.add(s3rec(dir.resolve("missing.txt"), 1));

        String header = "userId,movieId,rating,timestamp\n";
        String movies = "movieId,title,genres\n1,a,b\n";
        String[][] movielens = {
                {header + "1,2,4.0,10\n1,x,4,11\n", movies},
                {header + "1,2,4.0,10\n1,3,four,11\n", movies},
                {header + "1,2,4.0,10\n1,3,nan,11\n", movies},
                {header + "1,2,4.0,10\n1,3, 4,11\n", movies},
                {header + "1,2,4_0,10\n1,3,1e400,11\n", movies},
                {header + "1,2,4.0,10\n1,3,4\n", movies},
                {header + "1,2,4.0,10\n-1,3,4,11\n", movies},
                {"user,movie,rating,timestamp\n1,2,3,4\n", movies},
                {header, movies},
                {header + "1,2,4.0,10\n1,\"3\"x,4,11\n", movies},
                {header + "1,2,4.0,10\n1,\"3,4,11\n", movies},
                {header + "1,2,4.0,10\n", "movieId,title,genres\n1,a,b\n2,\"c\nd\",e\n1,f,g\n"},
                {header + "1,2,4.0,10\n", "movieId,title,genres\n\n"},
                {header + "1,2,4.0,10\n1,3,4,99999999999999999999\n", movies},
                {header + "1,2,4.0,10\n1,--3,4,11\n", movies}};
        for (int i = 0; i < movielens.length; i++) {
            write("ml" + i + "/ratings.csv", movielens[i][0]);
            write("ml" + i + "/movies.csv", movielens[i][1]);
            cases.add("movielens|" + dir.resolve("ml" + i) + "|0|test|1|");
        }
        write("ml-no-movies/ratings.csv", header + "1,2,4.0,10\n");
        cases.add("movielens|" + dir.resolve("ml-no-movies") + "|0|test|1|");
        cases.add("movielens|" + dir.resolve("no-such-dir") + "|0|test|1|");
        cases.add("movielens|" + notUtf8 + "|0|test|1|");

        List<String> args = new ArrayList<>(List.of("-c", DUMP));
        args.addAll(cases);
        String expected = python(args);
        String actual = cases.stream().map(DataInteropTest::javaDump).collect(Collectors.joining());
        assertEquals(expected, actual);
        assertTrue(expected.lines().filter(l -> l.startsWith("error ")).count() >= cases.size() - 2, expected);
    }
}
