package io.tarq.tools.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.tools.TarqCli;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tarq serve} in its own JVM, stopped by SIGTERM as a supervisor stops it: a request in flight when the
 * signal arrives is answered, and the process exits 0.
 */
class ServeSignalTest {
    @TempDir
    Path dir;

    @Test
    void sigtermFinishesTheRequestInFlightAndExitsZero() throws Exception {
        Path version = Files.createDirectories(dir.resolve("models").resolve("1"));
        SyntheticModel.write(SyntheticModelSpec.defaults(500).withUsers(20).withNMax(16).withSeed(3),
                version.resolve(ModelDirectory.MODEL_FILE));
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process server = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "-cp",
                System.getProperty("java.class.path"), TarqCli.class.getName(), "serve", dir.resolve("models").toString(),
                "--port", "0", "--threads", "1", "--warmup-requests", "10", "--drain-seconds", "20")
                .redirectError(dir.resolve("stderr.txt").toFile()).start();
        try {
            int port = port(server);
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            try (Socket slow = new Socket("127.0.0.1", port)) {
                String body = "{\"user\": 1, \"history\": [], \"candidates\": [-5], \"skip_unknown\": true}";
                OutputStream out = slow.getOutputStream();
                out.write(("POST /v1/score HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " + body.length()
                        + "\r\n\r\n" + body.substring(0, 10)).getBytes(StandardCharsets.US_ASCII));
                out.flush();
                while (!metrics(client, port).contains("tarq_inflight_requests 1\n")) { // admitted, body not read yet
                    Thread.sleep(10);
                }
                server.destroy(); // SIGTERM
                while (!Files.readString(dir.resolve("stderr.txt")).contains("stopping")) {
                    assertTrue(server.isAlive(), "the server exited with a request in flight");
                    Thread.sleep(10);
                }
                out.write(body.substring(10).getBytes(StandardCharsets.US_ASCII));
                out.flush();
                String answer = new String(slow.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
                assertTrue(answer.endsWith("{\"scores\":[null],\"version\":1}\n"), answer);
            }
            assertTrue(server.waitFor(30, TimeUnit.SECONDS), "the server did not exit after SIGTERM");
            String err = Files.readString(dir.resolve("stderr.txt"));
            assertEquals(TarqCli.EXIT_OK, server.exitValue(), err);
            assertTrue(err.contains("tarq serve: stopped"), err);
        } finally {
            server.destroyForcibly();
        }
    }

    /** The port from the server's first line on stdout. */
    private static int port(Process server) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        Pattern listening = Pattern.compile("on http://127\\.0\\.0\\.1:(\\d+) ");
        for (String line; (line = out.readLine()) != null; ) {
            Matcher m = listening.matcher(line);
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            seen.add(line);
        }
        throw new AssertionError("the server printed no address: " + seen);
    }

    private static String metrics(HttpClient client, int port) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).GET()
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
