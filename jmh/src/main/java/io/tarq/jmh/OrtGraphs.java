package io.tarq.jmh;

import io.tarq.engine.TarqModel;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ONNX exports of a model file and the ONNX Runtime scorers that run them, for the benchmarks.
 *
 * <p>The graphs come from the trainer's exporter ({@code python3 -m tarq.train.onnx_export MODEL --out-dir DIR
 * --tarq-form both}: {@code tt.onnx}, {@code ta.onnx}, {@code tarq.onnx}, {@code tarq-candidate.onnx}), written once
 * into {@code MODEL.onnx/} beside the model and reused while its {@code export.json} names a source of the model's
 * size and every graph is there. Python: {@code -Dtarq.python} (default {@code /usr/bin/python3}, with PyTorch); the exporter's sources:
 * {@code -Dtarq.root}/tools/python, else the first {@code tools/python} above the working directory.
 *
 * <p>The scorer itself needs ONNX Runtime's jar, which only the {@code ort} build has (Maven profile {@code -Port},
 * {@code ./tarq jmh --ort}); it is loaded by name, so this class compiles and loads without it.
 */
public final class OrtGraphs {
    /** The graphs of one export, by the name the benchmark modes use. */
    public enum Graph {
        TT("tt.onnx"), TA("ta.onnx"), TARQ("tarq.onnx"), TARQ_CANDIDATE("tarq-candidate.onnx");

        public final String file;

        Graph(String file) {
            this.file = file;
        }
    }

    static final String SCORER_CLASS = "io.tarq.jmh.ort.OrtScorer";
    private static final Pattern SOURCE_BYTES = Pattern.compile("\"source_bytes\"\\s*:\\s*(\\d+)");

    private OrtGraphs() {
    }

    /** The directory of {@code model}'s ONNX graphs, exported now if it has none yet (or a stale one). */
    public static Path exportsOf(Path model) throws IOException {
        Path dir = model.resolveSibling(model.getFileName() + ".onnx");
        Path info = dir.resolve("export.json");
        if (Files.exists(info)) {
            Matcher m = SOURCE_BYTES.matcher(Files.readString(info));
            boolean complete = true;
            for (Graph graph : Graph.values()) {
                complete &= Files.exists(dir.resolve(graph.file));
            }
            if (complete && m.find() && Long.parseLong(m.group(1)) == Files.size(model)) {
                return dir;
            }
        }
        List<String> command = new ArrayList<>(List.of(System.getProperty("tarq.python", "/usr/bin/python3"), "-m",
                "tarq.train.onnx_export", model.toString(), "--out-dir", dir.toString(), "--tarq-form", "both"));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("PYTHONPATH", pythonSources().toString());
        System.err.println("tarq: exporting " + model.getFileName() + " to ONNX (" + String.join(" ", command) + ") ...");
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException("the ONNX export of " + model + " failed: " + String.join(" ", command) + "\n" + output);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while exporting " + model, e);
        }
        return dir;
    }

    static Path pythonSources() throws IOException {
        String root = System.getProperty("tarq.root");
        if (root != null) {
            return Path.of(root, "tools", "python").toAbsolutePath();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("tools/python/tarq"))) {
                return dir.resolve("tools/python");
            }
        }
        throw new IOException("cannot find tools/python (the ONNX exporter) above " + Path.of("").toAbsolutePath()
                + ": run from the repository or pass -Dtarq.root=REPOSITORY");
    }

    /** Whether this JVM can run ONNX Runtime: the ort build's scorer and the runtime's jar are on the class path. */
    public static boolean available() {
        try {
            Class.forName(SCORER_CLASS);
            Class.forName("ai.onnxruntime.OrtEnvironment");
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /**
     * An ONNX Runtime scorer of {@code graph} of {@code model}'s export, ids resolved through {@code model}'s indexes;
     * {@code threads} intra-op threads.
     *
     * @throws IllegalStateException in a build without ONNX Runtime, naming the command that has it
     */
    public static RequestScorer open(TarqModel model, Path modelFile, Graph graph, int threads) throws IOException {
        if (!available()) {
            throw new IllegalStateException("ONNX Runtime is not in this build: the ORT_* modes need the ort build "
                    + "(./tarq jmh --ort ..., or mvn -Port package and java -jar jmh/target/benchmarks-ort.jar)");
        }
        Path file = exportsOf(modelFile).resolve(graph.file);
        try {
            return (RequestScorer) Class.forName(SCORER_CLASS).getConstructor(TarqModel.class, Path.class, int.class)
                    .newInstance(model, file, threads);
        } catch (InvocationTargetException e) {
            throw new IOException("ONNX Runtime could not open " + file + ": " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(SCORER_CLASS + " does not fit this build", e);
        }
    }
}
