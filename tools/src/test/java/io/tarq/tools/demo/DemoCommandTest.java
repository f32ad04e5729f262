package io.tarq.tools.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.tools.TarqCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo on the embedded model (demo/), shortened: it runs, writes its report, and the quality the engine measures
 * on the held-out events is the trainer's (demo/tarq-demo.safetensors.metrics.json, computed by PyTorch).
 */
class DemoCommandTest {
    private static final Path ROOT = Path.of(System.getProperty("tarq.root", "."));
    private static final Path MODEL = ROOT.resolve("demo/tarq-demo.safetensors");
    private static final Path EVENTS = ROOT.resolve("demo/tarq-demo.events.safetensors");

    @TempDir
    Path dir;

    @Test
    void demoRunsWritesTheReportAndMatchesTheTrainersMetrics() throws Exception {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int exit = TarqCli.run(new String[] {"demo", "--model", MODEL.toString(), "--events", EVENTS.toString(),
                "--out", dir.toString(), "--seconds", "0.5", "--catalog", "20000", "--requests", "4",
                "--candidates", "1000"}, new PrintWriter(out, true), new PrintWriter(err, true));
        String text = out.toString();
        assertEquals(0, exit, err.toString());
        assertTrue(text.contains("Quality on 2,000 held-out events"), text);
        assertTrue(text.contains("recall of TA's top-100"), text);
        assertTrue(text.contains("recall of tarq-f32's top-100 in tarq's"), text);
        assertTrue(text.contains("catalog of 20,000 items"), text);
        String html = Files.readString(dir.resolve("report.html"));
        assertTrue(html.startsWith("<!DOCTYPE html>") && html.contains("<svg") && html.endsWith("</html>\n"));

        String metrics = Files.readString(Path.of(MODEL + ".metrics.json"));
        // The engine's AUC per mode against PyTorch's on the same events: tt is the joint model's own score.
        assertClose(number(metrics, "joint_tt\"\\s*:\\s*\\{\\s*\"auc\""), auc(text, "tt"));
        assertClose(number(metrics, "\"auc\"\\s*:\\s*\\{[^}]*\"ta\""), auc(text, "ta"));
        assertClose(number(metrics, "\"auc\"\\s*:\\s*\\{[^}]*\"tarq\""), auc(text, "tarq-f32"));

        // The grown catalog is a valid model to the last byte: with the cross head, item.cross = W_x·item.emb + b_x.
        StringWriter verified = new StringWriter();
        Path grown = dir.resolve("catalog-20000-of-" + MODEL.getFileName());
        assertEquals(0, TarqCli.run(new String[] {"verify", "--full", grown.toString()}, new PrintWriter(verified, true),
                new PrintWriter(verified, true)), verified.toString());
    }

    @Test
    void aCachedCatalogThatIsNotValidIsGrownAgain() throws Exception {
        Path cached = dir.resolve("catalog-20000-of-" + MODEL.getFileName());
        Files.writeString(cached, "not a model"); // newer than the model: only opening it shows it is stale
        StringWriter out = new StringWriter(), err = new StringWriter();
        int exit = TarqCli.run(new String[] {"demo", "--model", MODEL.toString(), "--events", EVENTS.toString(),
                "--out", dir.toString(), "--seconds", "0.2", "--catalog", "20000", "--requests", "2",
                "--candidates", "500"}, new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, exit, err.toString());
        assertTrue(out.toString().contains("The cached catalog is not valid"), out.toString());
        assertTrue(out.toString().contains("catalog of 20,000 items"), out.toString());
    }

    private static void assertClose(double trainer, double engine) {
        // Float32 in two implementations: logits agree to ~1e-6, so only near-ties can swap; AUC moves by < 1e-4.
        assertEquals(trainer, engine, 2e-4, "trainer " + trainer + ", engine " + engine);
    }

    private static double auc(String text, String mode) {
        Matcher m = Pattern.compile("(?m)^  " + Pattern.quote(mode) + "\\s+([0-9.]+)\\s+([0-9.]+)$").matcher(text);
        assertTrue(m.find(), "no AUC line for " + mode + " in\n" + text);
        return Double.parseDouble(m.group(1));
    }

    private static double number(String json, String keyPattern) {
        Matcher m = Pattern.compile(keyPattern + "\\s*:\\s*([0-9.eE+-]+)").matcher(json);
        assertTrue(m.find(), "no " + keyPattern + " in " + json);
        return Double.parseDouble(m.group(1));
    }
}
