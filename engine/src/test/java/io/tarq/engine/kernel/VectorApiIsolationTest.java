package io.tarq.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Only {@code io.tarq.engine.kernel.panama} may import {@code jdk.incubator.vector}: everything else must load and
 * run in a JVM without the module (Lucene's rule). Scans the engine's sources.
 */
class VectorApiIsolationTest {

    @Test
    void onlyThePanamaPackageImportsTheVectorApi() throws IOException {
        Path sources = Path.of(System.getProperty("tarq.root", "..")).resolve("engine/src/main/java").toAbsolutePath();
        assertTrue(Files.isDirectory(sources), "no sources at " + sources);
        Path panama = sources.resolve("io/tarq/engine/kernel/panama");
        List<Path> offenders;
        List<Path> users;
        try (Stream<Path> files = Files.walk(sources)) {
            users = files.filter(p -> p.toString().endsWith(".java")).filter(VectorApiIsolationTest::importsVectorApi).toList();
        }
        offenders = users.stream().filter(p -> !p.getParent().equals(panama)).toList();
        assertEquals(List.of(), offenders, "files outside kernel.panama that import jdk.incubator.vector");
        assertTrue(users.stream().anyMatch(p -> p.getFileName().toString().equals("PanamaKernels.java")),
                "the scan must find PanamaKernels itself, or it is not scanning anything");
    }

    private static boolean importsVectorApi(Path file) {
        try {
            // Import statements only: Kernels names the module in strings to look it up, which is the point.
            return Files.readAllLines(file).stream().map(String::strip)
                    .anyMatch(line -> line.matches("import\\s+(static\\s+)?jdk\\.incubator\\.vector\\..*"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
