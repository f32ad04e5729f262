package io.tarq.tools;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tarq.tools.TarqCliTest.Run;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The project's Python ({@code tools/python} on Debian's python3) for the tests that compare Java with it. */
final class ProjectPython {
    static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final Path PYTHON_PATH =
            Path.of(System.getProperty("tarq.root", "..")).resolve("tools/python").toAbsolutePath();

    private ProjectPython() {}

    /** Skips the calling test class when python3 or numpy is missing ({@code ./tarq test} installs them). */
    static void assumeAvailable() throws IOException, InterruptedException {
        assumeTrue(Files.isExecutable(PYTHON), "no " + PYTHON);
        assumeTrue(run("-c", "import numpy").exit() == 0, "python3 has no numpy (apt-get install python3-numpy)");
    }

    /** Runs python3 with {@code args}; stdout and stderr whole. Fails the test if it takes over two minutes. */
    static Run run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PYTHON.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("PYTHONPATH", PYTHON_PATH.toString());
        Path err = Files.createTempFile("python", ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("python " + String.join(" ", args) + " did not finish");
        }
        String errText = Files.readString(err);
        Files.delete(err);
        return new Run(p.exitValue(), out, errText);
    }
}
