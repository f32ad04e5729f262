package io.tarq.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A JVM whose vectors are narrower than the kernels need (here {@code -XX:MaxVectorSize=16}, 128 bits, as on a
 * server limited by its flags) gets the scalar kernels with one warning, or, when the Panama kernels are forced, an
 * {@link IllegalStateException} naming the width on every call: never an {@link ExceptionInInitializerError}.
 */
class NarrowVectorsTest {

    /** Runs in the child JVM: prints what {@link Kernels} gives on two calls. */
    public static void main(String[] args) {
        for (int call = 0; call < 2; call++) {
            try {
                System.out.println("call " + call + ": " + Kernels.describe());
            } catch (RuntimeException | Error e) {
                System.out.println("call " + call + ": " + e.getClass().getName() + ": " + e.getMessage());
            }
        }
    }

    @Test
    void narrowVectorsFallBackToScalarWithOneWarning() throws Exception {
        String out = child(null);
        assertTrue(out.contains("call 0: scalar") && out.contains("call 1: scalar"), out);
        assertTrue(out.contains("scalar fallback, vectors are 128 bits wide here"), out);
    }

    @Test
    void forcingPanamaOnNarrowVectorsIsATypedErrorOnEveryCall() throws Exception {
        String out = child("panama");
        for (int call = 0; call < 2; call++) {
            assertTrue(out.contains("call " + call + ": java.lang.IllegalStateException: -Dio.tarq.kernels=panama but vectors are "
                    + "128 bits wide here"), out);
        }
    }

    private static String child(String forced) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-XX:MaxVectorSize=16", "-cp", System.getProperty("java.class.path")));
        if (forced != null) {
            command.add("-D" + Kernels.PROPERTY + "=" + forced);
        }
        command.add(NarrowVectorsTest.class.getName());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }
}
