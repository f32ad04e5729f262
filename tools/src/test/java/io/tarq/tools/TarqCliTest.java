package io.tarq.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.layout.TarqModelFile;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarqCliTest {
    @TempDir
    static Path dir;
    static Path model;

    record Run(int exit, String out, String err) {
    }

    static Run run(String... args) {
        return runWithStdin("", args);
    }

    /** Runs with {@code stdin} as standard input (UTF-8). */
    static Run runWithStdin(String stdin, String... args) {
        return runWithStdin(stdin.getBytes(StandardCharsets.UTF_8), args);
    }

    static Run runWithStdin(byte[] stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = TarqCli.run(args, new ByteArrayInputStream(stdin), new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(exit, out.toString(), err.toString());
    }

    @BeforeAll
    static void synthesize() {
        model = dir.resolve("m.safetensors");
        Run synth = run("synth", "--items", "2000", "--users", "30", "--seed", "5", "--null-keys", "--out", model.toString());
        assertEquals(0, synth.exit(), synth.err());
        assertTrue(synth.out().contains("2,000 items, seed 5"), synth.out());
    }

    @Test
    void versionNamesTheReleaseTheJvmAndTheKernels() throws IOException {
        Run r = run("--version");
        assertEquals(0, r.exit(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(2, lines.size(), r.out());
        String pom = Files.readString(Path.of(System.getProperty("tarq.root"), "pom.xml"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("<artifactId>tarq-parent</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(pom);
        assertTrue(m.find(), "the parent POM's version");
        assertEquals("tarq " + m.group(1) + " on Java " + Runtime.version(), lines.get(0));
        assertTrue(lines.get(1).startsWith("kernels: panama") || lines.get(1).startsWith("kernels: scalar"), lines.get(1));
    }

    @Test
    void verifyPrintsOneLineAndExitsZeroOnAValidModel() {
        Run r = run("verify", "--full", model.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(1, r.out().lines().count());
        assertTrue(r.out().startsWith(model + ": valid TARQ model"), r.out());
        assertTrue(r.out().contains("contents checked"));
        assertEquals("", r.err());
    }

    @Test
    void verifyNamesFileTensorAndFaultOnOneLineAndExitsOne() throws IOException {
        byte[] bytes = Files.readAllBytes(model);
        Path cut = Files.write(dir.resolve("cut.safetensors"), Arrays.copyOf(bytes, bytes.length / 2));
        Run r = run("verify", cut.toString());
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertEquals("", r.out());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains(cut + ": tensor "), r.err());
        assertTrue(r.err().contains("file truncated?"), r.err());
    }

    @Test
    void verifyFullFindsCorruptContents() throws IOException {
        Path corrupt = dir.resolve("nan.safetensors");
        Files.copy(model, corrupt);
        long offset; // of seq.ln.weight in the file: data start + its distance from the first tensor
        try (TarqModelFile f = TarqModelFile.open(corrupt)) {
            long firstTensor = f.safetensors().tensors().getFirst().segment().address();
            offset = f.safetensors().dataOffset() + f.tensor("seq.ln.weight").segment().address() - firstTensor;
        }
        try (var channel = java.nio.channels.FileChannel.open(corrupt, java.nio.file.StandardOpenOption.WRITE)) {
            channel.write(java.nio.ByteBuffer.wrap(new byte[] {0, 0, (byte) 0xc0, 0x7f}), offset + 8); // NaN at [2]
        }
        assertEquals(0, run("verify", corrupt.toString()).exit(), "structure alone is fine");
        Run r = run("verify", "--full", corrupt.toString());
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertEquals("tarq verify: " + corrupt + ": tensor seq.ln.weight: element [2] is NaN", r.err().strip());
    }

    @Test
    void missingFileIsOneLine() {
        Run r = run("verify", dir.resolve("absent.safetensors").toString());
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertEquals("tarq verify: " + dir.resolve("absent.safetensors") + ": no such file", r.err().strip());
    }

    @Test
    void aDirectoryAsTheModelIsOneLineNamingItForEveryCommandThatOpensOne() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("models.safetensors"));
        Path requests = Files.writeString(dir.resolve("dir-req.jsonl"), "{\"user\": 1, \"history\": [], \"candidates\": []}\n");
        String[][] commands = {
                {"verify", folder.toString()},
                {"inspect", folder.toString()},
                {"score", folder.toString(), "--input", requests.toString(), "--output", dir.resolve("dir-out.jsonl").toString()},
                {"bench", folder.toString(), "--seconds", "0.1"},
                {"encode-items", folder.toString(), "--items", requests.toString(), "--out", dir.resolve("dir-new.safetensors").toString()},
                {"soak", folder.toString(), model.toString(), "--seconds", "1"},
        };
        for (String[] command : commands) {
            Run r = run(command);
            assertEquals(TarqCli.EXIT_FAULT, r.exit(), command[0] + ": " + r.err());
            assertEquals("tarq " + command[0] + ": " + folder + ": is a directory, not a .safetensors file", r.err().strip());
        }
    }

    @Test
    void usageErrorsAreOneLinePointingToTheCommandsHelpAndExitTwo() {
        Run missingFlag = run("score", model.toString(), "--output", dir.resolve("x").toString());
        assertEquals(TarqCli.EXIT_USAGE, missingFlag.exit());
        assertEquals("", missingFlag.out());
        assertEquals("tarq score: Missing required option: '--input=REQUESTS.jsonl' (see 'tarq score --help')",
                missingFlag.err().strip());
        Run missingModel = run("verify");
        assertEquals(TarqCli.EXIT_USAGE, missingModel.exit());
        assertEquals("tarq verify: Missing required parameter: 'MODEL' (see 'tarq verify --help')", missingModel.err().strip());
        Run unknownFlag = run("verify", "--bogus", model.toString());
        assertEquals(TarqCli.EXIT_USAGE, unknownFlag.exit());
        assertEquals("tarq verify: Unknown option: '--bogus' (see 'tarq verify --help')", unknownFlag.err().strip());
        Run badValue = run("synth", "--items", "-5", "--out", dir.resolve("x").toString());
        assertEquals(TarqCli.EXIT_USAGE, badValue.exit());
        assertOneUsageLine("tarq synth", badValue);
        Run badLevels = run("synth", "--items", "10", "--levels", "9", "--out", dir.resolve("x").toString());
        assertEquals(TarqCli.EXIT_USAGE, badLevels.exit());
        assertTrue(badLevels.err().contains("levels 9 is out of range"), badLevels.err());
        assertOneUsageLine("tarq synth", badLevels);
        Run badMode = run("score", model.toString(), "--input", "x", "--output", "y", "--mode", "fast");
        assertEquals(TarqCli.EXIT_USAGE, badMode.exit());
        assertOneUsageLine("tarq score", badMode);
        Run modelToStdout = run("synth", "--items", "10", "--out", "-");
        assertEquals(TarqCli.EXIT_USAGE, modelToStdout.exit());
        assertOneUsageLine("tarq synth", modelToStdout);
        assertTrue(modelToStdout.err().contains("--out -: a model is written to a file"), modelToStdout.err());
        assertTrue(!Files.exists(Path.of("-")), "no file named -");
        Run unknownCommand = run("scor");
        assertEquals(TarqCli.EXIT_USAGE, unknownCommand.exit());
        assertEquals("tarq: Unmatched argument at index 0: 'scor'; did you mean 'score'? (see 'tarq --help')",
                unknownCommand.err().strip());
        assertEquals(TarqCli.EXIT_USAGE, run("frobnicate").exit());
    }

    /** One line on stderr, naming the command and ending with the pointer to its help; nothing on stdout. */
    static void assertOneUsageLine(String command, Run r) {
        assertEquals("", r.out());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith(command + ": "), r.err());
        assertTrue(r.err().strip().endsWith(" (see '" + command + " --help')"), r.err());
    }

    @Test
    void noCommandIsAUsageErrorWithTheUsageOnStderr() {
        Run r = run();
        assertEquals(TarqCli.EXIT_USAGE, r.exit());
        assertEquals("", r.out());
        assertTrue(r.err().startsWith("Usage: tarq "), r.err());
        assertTrue(r.err().contains("verify") && r.err().contains("score"), r.err());
    }

    @Test
    void theLauncherWithNoCommandExitsTwoWithItsUsageOnStderr() throws Exception {
        Path launcher = Path.of(System.getProperty("tarq.root"), "tarq");
        Process p = new ProcessBuilder("bash", launcher.toString()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(TarqCli.EXIT_USAGE, p.waitFor(), err);
        assertEquals("", out);
        assertTrue(err.startsWith("Usage: ./tarq COMMAND"), err);
        Process help = new ProcessBuilder("bash", launcher.toString(), "--help").start();
        assertTrue(new String(help.getInputStream().readAllBytes(), StandardCharsets.UTF_8).startsWith("Usage: ./tarq COMMAND"));
        assertEquals(TarqCli.EXIT_OK, help.waitFor(), "asking for help is not an error");
    }

    @Test
    void inspectShowsDimensionsOptionalPartsAndTensors() {
        Run r = run("inspect", model.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("N = 2,000 items, U = 30 users"), r.out());
        assertTrue(r.out().contains("null keys     teacher yes, student yes"), r.out());
        assertTrue(r.out().contains("producer      tarq synth"), r.out());
        assertTrue(r.out().contains("item.codes             U8   [3, 2000]"), r.out());
    }

    static long item(int row) {
        return io.tarq.engine.synth.SyntheticModel.itemId(row);
    }

    @Test
    void scoreWritesOneLineOfLogitsARequestInCandidateOrder() throws IOException {
        Path in = Files.writeString(dir.resolve("req.jsonl"), "{\"user\": 3, \"history\": [" + item(1) + ", " + item(2)
                + "], \"candidates\": [" + item(5) + ", " + item(6) + "]}\n\n{\"user\": 999999, \"history\": [], \"candidates\": ["
                + item(7) + "]}\n");
        Path out = dir.resolve("scores.jsonl");
        for (String mode : new String[] {"tt", "tarq", "tarq-f32", "ta"}) {
            Run r = run("score", model.toString(), "--input", in.toString(), "--output", out.toString(), "--mode", mode);
            assertEquals(0, r.exit(), r.err());
            var lines = Files.readAllLines(out);
            assertEquals(2, lines.size(), "a blank line is skipped");
            assertTrue(lines.get(0).matches("\\{\"scores\":\\[-?[0-9.E-]+,-?[0-9.E-]+\\]\\}"), lines.get(0));
            assertTrue(lines.get(1).matches("\\{\"scores\":\\[-?[0-9.E-]+\\]\\}"), lines.get(1));
        }
        try (var tarq = io.tarq.engine.TarqModel.open(model)) {
            float[] expected = new float[2];
            tarq.newScorer().score(io.tarq.engine.Mode.TA, 3, new long[] {item(1), item(2)}, new long[] {item(5), item(6)}, expected);
            assertEquals("{\"scores\":[" + expected[0] + "," + expected[1] + "]}", Files.readAllLines(out).get(0));
        }
    }

    @Test
    void scoreNamesAnUnknownCandidateItsPositionAndItsLineAndWritesNothing() throws IOException {
        Path in = Files.writeString(dir.resolve("unknown.jsonl"), "{\"user\": 1, \"history\": [], \"candidates\": [" + item(1)
                + "]}\n{\"user\": 1, \"history\": [], \"candidates\": [" + item(2) + ", 31337]}\n");
        Path out = dir.resolve("unknown-scores.jsonl");
        Run r = run("score", model.toString(), "--input", in.toString(), "--output", out.toString());
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertEquals(1, r.err().lines().count(), r.err());
        // Lines count from 1, positions in a request from 0: the engine's UnknownCandidateException.position().
        assertEquals("tarq score: " + in + ": line 2: candidate id 31337 at candidates[1] is not in the catalog "
                + "(pass --skip-unknown to score it as null)", r.err().strip());
        try (var tarq = io.tarq.engine.TarqModel.open(model)) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(io.tarq.engine.UnknownCandidateException.class,
                    () -> tarq.newScorer().score(io.tarq.engine.Mode.TARQ, 1, new long[0], new long[] {item(2), 31337}, new float[2]));
            assertEquals(1, e.position());
            assertTrue(r.err().contains(e.getMessage()), "the command line quotes the engine's message: " + e.getMessage());
        }
        assertTrue(!Files.exists(out), "no partial output");
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().contains("partial")));
        }

        Run skipped = run("score", model.toString(), "--input", in.toString(), "--output", out.toString(), "--skip-unknown");
        assertEquals(0, skipped.exit(), skipped.err());
        assertTrue(Files.readAllLines(out).get(1).endsWith(",null]}"), Files.readAllLines(out).get(1));
    }

    @Test
    void scoreReadsStdinAndWritesStdoutForADash() throws IOException {
        String requests = "{\"user\": 3, \"history\": [" + item(1) + "], \"candidates\": [" + item(5) + ", " + item(6)
                + "]}\n\n{\"user\": 4, \"history\": [], \"candidates\": [" + item(7) + "]}\n";
        Path in = Files.writeString(dir.resolve("dash-req.jsonl"), requests);
        Path file = dir.resolve("dash-scores.jsonl");
        Run fromFile = run("score", model.toString(), "--input", in.toString(), "--output", file.toString());
        assertEquals(0, fromFile.exit(), fromFile.err());
        String expected = Files.readString(file);

        Run piped = runWithStdin(requests, "score", model.toString(), "--input", "-", "--output", "-");
        assertEquals(0, piped.exit(), piped.err());
        assertEquals(expected, piped.out(), "stdout holds the scores alone");
        assertEquals("stdin: 2 requests scored (tarq) into stdout", piped.err().strip(), "the summary goes to stderr");

        Path fromStdin = dir.resolve("dash-stdin.jsonl");
        Run stdinToFile = runWithStdin(requests, "score", model.toString(), "--input", "-", "--output", fromStdin.toString());
        assertEquals(0, stdinToFile.exit(), stdinToFile.err());
        assertEquals(expected, Files.readString(fromStdin));
        assertEquals("stdin: 2 requests scored (tarq) into " + fromStdin, stdinToFile.out().strip());

        Run fileToStdout = run("score", model.toString(), "--input", in.toString(), "--output", "-");
        assertEquals(0, fileToStdout.exit(), fileToStdout.err());
        assertEquals(expected, fileToStdout.out());
    }

    @Test
    void scoreFaultsOnStdinNameStdinAndTheLine() {
        Run unknown = runWithStdin("{\"user\": 1, \"history\": [], \"candidates\": [31337]}\n", "score", model.toString(),
                "--input", "-", "--output", "-");
        assertEquals(TarqCli.EXIT_FAULT, unknown.exit());
        assertEquals("tarq score: stdin: line 1: candidate id 31337 at candidates[0] is not in the catalog "
                + "(pass --skip-unknown to score it as null)", unknown.err().strip());
        Run latin1 = runWithStdin(new byte[] {'{', (byte) 0xe9, '}', '\n'}, "score", model.toString(), "--input", "-",
                "--output", "-");
        assertEquals(TarqCli.EXIT_FAULT, latin1.exit());
        assertEquals("tarq score: stdin: line 1: not valid UTF-8", latin1.err().strip());
    }

    @Test
    void scoreToAClosedStdoutIsAFault() {
        OutputStream closed = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Broken pipe");
            }
        };
        StringWriter err = new StringWriter();
        String request = "{\"user\": 1, \"history\": [], \"candidates\": [" + item(1) + "]}\n";
        int exit = TarqCli.run(new String[] {"score", model.toString(), "--input", "-", "--output", "-"},
                new ByteArrayInputStream(request.getBytes(StandardCharsets.UTF_8)), new PrintWriter(closed, true),
                new PrintWriter(err, true));
        assertEquals(TarqCli.EXIT_FAULT, exit);
        assertEquals("tarq score: stdout: write failed (was the pipe closed?)", err.toString().strip());
    }

    @Test
    void scoreNamesADirectoryGivenAsInputOrOutputAndCreatesAMissingOutputDirectory() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("a-folder"));
        Path in = Files.writeString(dir.resolve("folder-req.jsonl"), "{\"user\": 1, \"history\": [], \"candidates\": []}\n");
        Run input = run("score", model.toString(), "--input", folder.toString(), "--output", dir.resolve("f.jsonl").toString());
        assertEquals(TarqCli.EXIT_FAULT, input.exit());
        assertEquals("tarq score: " + folder + ": is a directory, not a file", input.err().strip());
        Run output = run("score", model.toString(), "--input", in.toString(), "--output", folder.toString());
        assertEquals(TarqCli.EXIT_FAULT, output.exit());
        assertEquals("tarq score: " + folder + ": is a directory, not a file", output.err().strip());
        Path nested = dir.resolve("new-dir/sub/s.jsonl");
        Run missingParent = run("score", model.toString(), "--input", in.toString(), "--output", nested.toString());
        assertEquals(0, missingParent.exit(), missingParent.err());
        assertEquals(1, Files.readAllLines(nested).size(), "as synth and encode-items, the directories are created");
        Run synth = run("synth", "--items", "10", "--out", folder.toString());
        assertEquals(TarqCli.EXIT_FAULT, synth.exit());
        assertEquals("tarq synth: " + folder + ": is a directory, not a .safetensors file", synth.err().strip());
    }

    @Test
    void scoreNamesAMalformedLine() throws IOException {
        Path in = Files.writeString(dir.resolve("bad.jsonl"), "{\"user\": 1, \"history\": [], \"candidates\": []}\n{\"user\": 1,\n");
        Run r = run("score", model.toString(), "--input", in.toString(), "--output", dir.resolve("bad-out.jsonl").toString());
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertTrue(r.err().contains(in + ": line 2: "), r.err());
        assertEquals(TarqCli.EXIT_USAGE, run("score", model.toString(), "--input", in.toString(), "--output", "x", "--mode", "fast").exit());
    }

    @Test
    void scoreAndBenchReadTheItemVectorsAskedFor() throws IOException {
        Path in = Files.writeString(dir.resolve("req-sq8.jsonl"), "{\"user\": 3, \"history\": [" + item(1) + ", " + item(2)
                + "], \"candidates\": [" + item(5) + ", " + item(6) + "]}\n");
        Path out = dir.resolve("scores-sq8.jsonl");
        Run r = run("score", model.toString(), "--input", in.toString(), "--output", out.toString(), "--mode", "tt",
                "--item-vectors", "sq8");
        assertEquals(0, r.exit(), r.err());
        try (var tarq = io.tarq.engine.TarqModel.open(model, io.tarq.engine.ItemVectors.SQ8)) {
            float[] expected = new float[2];
            tarq.newScorer().score(io.tarq.engine.Mode.TT, 3, new long[] {item(1), item(2)}, new long[] {item(5), item(6)}, expected);
            assertEquals("{\"scores\":[" + expected[0] + "," + expected[1] + "]}", Files.readAllLines(out).get(0));
        }
        Run bad = run("score", model.toString(), "--input", in.toString(), "--output", out.toString(), "--item-vectors", "int4");
        assertEquals(TarqCli.EXIT_USAGE, bad.exit());
        assertTrue(bad.err().contains("--item-vectors unknown item vectors int4: expected float32, sq8 or records"), bad.err());
        Run bench = run("bench", model.toString(), "--candidates", "200", "--history", "5", "--seconds", "0.5", "--json",
                "--item-vectors", "sq8");
        assertEquals(0, bench.exit(), bench.err());
        assertTrue(bench.out().strip().endsWith(", \"item_vectors\": \"sq8\"}"), bench.out());
    }

    @Test
    void benchPrintsEveryModeAsJson() {
        Run r = run("bench", model.toString(), "--candidates", "300", "--history", "10", "--seconds", "1", "--json");
        assertEquals(0, r.exit(), r.err());
        String json = r.out().strip();
        assertTrue(json.startsWith("{\"implementation\": \"panama\", \"modes\": {\"tt\": {\"p50_us\": "), json);
        for (String mode : new String[] {"\"tarq\": {", "\"tarq-f32\": {", "\"ta\": {", "\"p99_us\"", "\"p999_us\"", "\"requests_per_s\""}) {
            assertTrue(json.contains(mode), mode + " in " + json);
        }
    }

    @Test
    void helpListsEveryFlagWithItsDefault() {
        Run r = run("synth", "--help");
        assertEquals(0, r.exit());
        for (String flag : new String[] {"--items", "--out", "--seed", "--users", "--dim", "--heads", "--tower-dim",
                "--mlp-hidden", "--n-max", "--levels", "--codebook", "--null-keys", "--ta-mlp"}) {
            assertTrue(r.out().contains(flag), flag + " in " + r.out());
        }
        assertTrue(r.out().contains("(default: 42)"), r.out());
        Run top = run("--help");
        assertTrue(top.out().contains("verify") && top.out().contains("inspect") && top.out().contains("synth"), top.out());
    }
}
