package io.tarq.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.Mode;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.engine.TopK;
import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.layout.TarqDimensions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine as a server links it, three ways: the class path, the module path (with and without the Vector API
 * module), and a {@code jlink}'d runtime image. The program is {@code examples/module-path}; each run must print the
 * same top-10 lists as this JVM computes, and only the class path may reach the engine's internal packages.
 */
class ModulePathTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path program;
    static String engine;
    static String layout;
    static String expectedTop;

    @BeforeAll
    static void build() throws IOException, URISyntaxException {
        model = dir.resolve("m.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(3000).withUsers(10).withNMax(32).withCrossDim(16), model);
        engine = codeSource(TarqModel.class);
        layout = codeSource(TarqDimensions.class);
        Path sources = Path.of(System.getProperty("tarq.root"), "examples", "module-path");
        program = dir.resolve("program");
        List<String> files;
        try (Stream<Path> walk = Files.walk(sources)) {
            files = walk.filter(p -> p.toString().endsWith(".java")).map(Path::toString).toList();
        }
        List<String> args = new ArrayList<>(List.of("--module-path", engine + java.io.File.pathSeparator + layout,
                "--module-source-path", sources.toString(), "-d", program.toString(), "-Xlint:all,-incubating", "-Werror"));
        args.addAll(files);
        assertEquals(0, javax.tools.ToolProvider.getSystemJavaCompiler().run(null, null, null, args.toArray(String[]::new)),
                "javac of examples/module-path");
        expectedTop = inProcessTop();
    }

    @Test
    void onTheClassPathEverythingIsReachable() throws Exception {
        String out = java(List.of("--add-modules", "jdk.incubator.vector", "-cp",
                classPath(program.resolve("example.server").toString(), engine, layout), "example.server.Main", model.toString()));
        assertTrue(out.contains(", kernels: panama"), out);
        assertTrue(out.contains(expectedTop), out);
        assertTrue(out.contains("engine module: unnamed (class path)"), out);
        assertTrue(out.contains("internals: reachable"), out);
    }

    @Test
    void onTheModulePathOnlyTheApiIsExported() throws Exception {
        String out = java(List.of("--add-modules", "jdk.incubator.vector", "--module-path", classPath(program.toString(), engine, layout),
                "-m", "example.server/example.server.Main", model.toString()));
        assertTrue(out.contains(", kernels: panama"), out);
        assertTrue(out.contains(expectedTop), out);
        assertTrue(out.contains("engine module: io.tarq.engine"), out);
        assertTrue(out.contains("internals: encapsulated"), out);
    }

    @Test
    void withoutTheVectorModuleTheModuleRunsItsScalarKernels() throws Exception {
        String out = java(List.of("--module-path", classPath(program.toString(), engine, layout),
                "-m", "example.server/example.server.Main", model.toString()));
        assertTrue(out.contains(", kernels: scalar"), out);
        assertTrue(out.contains(expectedTop), "the scalar twins rank as the vector kernels do\n" + out);
    }

    @Test
    void aJlinkImageHoldsTheEngineAndWhatItNeeds() throws Exception {
        Path image = dir.resolve("image");
        run(ToolProvider.findFirst("jlink").orElseThrow(), "--module-path", classPath(program.toString(), engine, layout),
                "--add-modules", "example.server,jdk.incubator.vector", "--strip-debug", "--no-header-files", "--no-man-pages",
                "--output", image.toString());
        String java = image.resolve("bin").resolve("java").toString();
        Set<String> modules = lines(exec(List.of(java, "--list-modules"))).stream()
                .map(line -> line.replaceFirst("@.*", "")).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(List.of("example.server", "io.tarq.engine", "io.tarq.layout", "java.base", "java.management",
                "jdk.incubator.vector", "jdk.jfr", "jdk.management")), modules);
        String out = exec(List.of(java, "--add-modules", "jdk.incubator.vector", "-m", "example.server/example.server.Main",
                model.toString()));
        assertTrue(out.contains(", kernels: panama"), out);
        assertTrue(out.contains(expectedTop), out);
    }

    @Test
    void jdepsListsWhatTheEngineModuleNeeds() throws Exception {
        String out = run(ToolProvider.findFirst("jdeps").orElseThrow(), "--module-path", classPath(engine, layout),
                "--add-modules", "jdk.incubator.vector", "-s", "-m", "io.tarq.engine");
        Set<String> deps = lines(out).stream().filter(line -> line.startsWith("io.tarq.engine -> "))
                .map(line -> line.substring("io.tarq.engine -> ".length()).trim())
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(List.of("io.tarq.layout", "java.base", "java.management", "jdk.incubator.vector",
                "jdk.jfr", "jdk.management")), deps, out);
    }

    /** The two lines the program prints for its request, computed here with the same model and request. */
    private static String inProcessTop() throws IOException {
        try (TarqModel m = TarqModel.open(model)) {
            long[] items = m.itemIds();
            long[] history = Arrays.copyOf(items, 20);
            long[] candidates = Arrays.copyOfRange(items, 20, 2020);
            long user = m.userIds()[1];
            Scorer scorer = m.newScorer();
            StringJoiner lines = new StringJoiner("\n");
            for (Mode mode : new Mode[] {Mode.TT, Mode.TARQ}) {
                TopK top = scorer.topK(mode, user, history, candidates, 10, new TopK());
                StringJoiner ids = new StringJoiner(" ", mode + " top-10: ", "");
                for (int r = 0; r < top.size(); r++) {
                    ids.add(Long.toString(top.id(r)));
                }
                lines.add(ids.toString());
            }
            return lines.toString();
        }
    }

    private static String java(List<String> args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(args);
        return exec(command);
    }

    private static String exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", command) + "\n" + out);
        assertFalse(out.contains("Exception"), out);
        return out;
    }

    private static String run(ToolProvider tool, String... args) {
        var bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            int exit = tool.run(out, out, args);
            String text = bytes.toString(StandardCharsets.UTF_8);
            assertEquals(0, exit, tool.name() + " " + String.join(" ", args) + "\n" + text);
            return text;
        }
    }

    private static List<String> lines(String text) {
        return text.lines().toList();
    }

    private static String classPath(String... entries) {
        return String.join(java.io.File.pathSeparator, entries);
    }

    private static String codeSource(Class<?> type) throws URISyntaxException {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
