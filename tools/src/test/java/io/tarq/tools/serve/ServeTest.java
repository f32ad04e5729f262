package io.tarq.tools.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.ItemVectors;
import io.tarq.engine.Mode;
import io.tarq.engine.RequestLimits;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.engine.TopK;
import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.tools.InterleavedLatency;
import io.tarq.tools.jsonl.RequestLine;
import io.tarq.tools.soak.CorruptModels;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ./tarq serve} on an ephemeral port, a synthetic model in a temporary MODEL_DIR, answers checked against in-process scorers. */
class ServeTest {
    private static final SyntheticModelSpec SPEC = SyntheticModelSpec.defaults(1500).withUsers(40).withNMax(32).withNullKeys(true);

    @TempDir
    static Path models;
    static Path versionOne;
    static Path versionTwo;

    @TempDir
    Path dir;

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final List<String> log = new CopyOnWriteArrayList<>();
    private TarqServer server;

    @BeforeAll
    static void synthesize() throws IOException {
        versionOne = models.resolve("one.safetensors");
        versionTwo = models.resolve("two.safetensors");
        SyntheticModel.write(SPEC.withSeed(11), versionOne);
        SyntheticModel.write(SPEC.withSeed(12), versionTwo);
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static void install(Path modelDir, long version, Path model) throws IOException {
        // As a deployment would: write under a name that is not a version, then rename it into place.
        Path staging = Files.createDirectories(modelDir.resolve(version + ".tmp"));
        Files.copy(model, staging.resolve(ModelDirectory.MODEL_FILE), StandardCopyOption.REPLACE_EXISTING);
        Files.move(staging, modelDir.resolve(Long.toString(version)), StandardCopyOption.ATOMIC_MOVE);
    }

    private TarqServer start(int threads, int maxInflight, long pollMillis) throws IOException {
        server = TarqServer.start(new TarqServer.Config(dir, "127.0.0.1", 0, threads, maxInflight, 8, RequestLimits.DEFAULT,
                ItemVectors.FLOAT32, 50, pollMillis), log::add);
        return server;
    }

    private HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).GET()
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void scoresAndTopKAreTheInProcessScorersBitForBit() throws Exception {
        install(dir, 1, versionOne);
        start(2, 16, 0);
        try (TarqModel model = TarqModel.open(versionOne)) {
            Scorer scorer = model.newScorer();
            List<RequestLine> requests = InterleavedLatency.randomRequests(model, 300, 20, 3);
            for (int i = 0; i < 8; i++) {
                RequestLine r = requests.get(i);
                for (Mode mode : Mode.values()) {
                    LoadGenerator.Shape shape = new LoadGenerator.Shape(mode, -1, -1);
                    float[] want = new float[r.candidates().length];
                    scorer.score(mode, r.user(), r.history(), r.candidates(), want);
                    HttpResponse<String> response = post("/v1/score", ExpectedAnswers.body(r, shape));
                    assertEquals(200, response.statusCode(), response.body());
                    ExpectedAnswers.Response got = ExpectedAnswers.Response.parse(response.body());
                    assertEquals(1, got.version());
                    assertTrue(new ExpectedAnswers.Answer(null, want).matches(got.answer()), mode + ": " + response.body());
                }
                TopK top = scorer.topK(Mode.TARQ, r.user(), r.history(), r.candidates(), 7, new TopK());
                check(top, post("/v1/topk", ExpectedAnswers.body(r, new LoadGenerator.Shape(Mode.TARQ, 7, -1))));
                TopK cascade = scorer.rescoreTopK(r.user(), r.history(), r.candidates(), 40, 5, new TopK());
                check(cascade, post("/v1/topk", ExpectedAnswers.body(r, new LoadGenerator.Shape(Mode.TARQ, 5, 40))));
            }
            // A batch: one answer each, in order, as an array.
            RequestLine a = requests.get(0);
            RequestLine b = requests.get(1);
            String batch = "[" + ExpectedAnswers.body(a, new LoadGenerator.Shape(Mode.TT, -1, -1)) + ","
                    + ExpectedAnswers.body(b, new LoadGenerator.Shape(Mode.TA, -1, -1)) + "]";
            HttpResponse<String> response = post("/v1/score", batch);
            assertEquals(200, response.statusCode(), response.body());
            String[] answers = response.body().strip().replaceFirst("^\\[", "").replaceFirst("]$", "").split("(?<=}),(?=\\{)");
            assertEquals(2, answers.length, response.body());
            float[] tt = new float[a.candidates().length];
            scorer.score(Mode.TT, a.user(), a.history(), a.candidates(), tt);
            float[] ta = new float[b.candidates().length];
            scorer.score(Mode.TA, b.user(), b.history(), b.candidates(), ta);
            assertTrue(new ExpectedAnswers.Answer(null, tt).matches(ExpectedAnswers.Response.parse(answers[0]).answer()));
            assertTrue(new ExpectedAnswers.Answer(null, ta).matches(ExpectedAnswers.Response.parse(answers[1]).answer()));
        }
    }

    private HttpResponse<byte[]> postForBinary(String path, String body) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Accept", "application/json;q=0.5, " + TarqServer.BINARY)
                .POST(HttpRequest.BodyPublishers.ofString(body)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    private static byte[] littleEndian(float[]... requests) {
        ByteBuffer out = ByteBuffer.allocate(4 * java.util.Arrays.stream(requests).mapToInt(r -> r.length).sum())
                .order(ByteOrder.LITTLE_ENDIAN);
        for (float[] scores : requests) {
            for (float score : scores) {
                out.putInt(Float.floatToRawIntBits(score));
            }
        }
        return out.array();
    }

    @Test
    void binaryAnswersAreTheInProcessLogitsByteForByte() throws Exception {
        install(dir, 1, versionOne);
        start(1, 4, 0);
        try (TarqModel model = TarqModel.open(versionOne)) {
            Scorer scorer = model.newScorer();
            List<RequestLine> requests = InterleavedLatency.randomRequests(model, 200, 20, 5);
            RequestLine r = requests.get(0);
            for (Mode mode : Mode.values()) {
                float[] want = new float[r.candidates().length];
                scorer.score(mode, r.user(), r.history(), r.candidates(), want);
                HttpResponse<byte[]> response = postForBinary("/v1/score", ExpectedAnswers.body(r, new LoadGenerator.Shape(mode, -1, -1)));
                assertEquals(200, response.statusCode());
                assertEquals(TarqServer.BINARY, response.headers().firstValue("Content-Type").orElse(""));
                assertEquals("1", response.headers().firstValue(TarqServer.VERSION_HEADER).orElse(""));
                assertArrayEquals(littleEndian(want), response.body(), mode.cliName());
            }
            // A batch: the requests' logits one after the other; an unknown candidate skipped is NaN (null in JSON).
            RequestLine b = requests.get(1);
            float[] tt = new float[r.candidates().length];
            scorer.score(Mode.TT, r.user(), r.history(), r.candidates(), tt);
            float[] ta = new float[b.candidates().length];
            scorer.score(Mode.TA, b.user(), b.history(), b.candidates(), ta);
            String skipped = "{\"user\": 1, \"history\": [], \"candidates\": [-5], \"skip_unknown\": true}";
            HttpResponse<byte[]> batch = postForBinary("/v1/score", "[" + ExpectedAnswers.body(r, new LoadGenerator.Shape(Mode.TT, -1, -1))
                    + "," + ExpectedAnswers.body(b, new LoadGenerator.Shape(Mode.TA, -1, -1)) + "," + skipped + "]");
            assertEquals(200, batch.statusCode());
            assertArrayEquals(littleEndian(tt, ta, new float[] {Float.NaN}), batch.body());
        }
        // Refusals stay JSON, one line: /v1/topk has no binary form, and a malformed body is the CLI's message.
        HttpResponse<byte[]> topk = postForBinary("/v1/topk", "{\"user\": 1, \"history\": [], \"candidates\": [1], \"k\": 1}");
        assertEquals(406, topk.statusCode());
        assertEquals("{\"error\":\"/v1/topk answers JSON only; application/octet-stream is for /v1/score\"}\n",
                new String(topk.body(), StandardCharsets.UTF_8));
        HttpResponse<byte[]> bad = postForBinary("/v1/score", "{\"user\": 1, \"history\": [], \"candidates\": [1, 2}");
        assertEquals(400, bad.statusCode());
        assertEquals("application/json", bad.headers().firstValue("Content-Type").orElse(""));
        assertEquals(1.0, parseMetrics(get("/metrics").body()).get("tarq_errors_total{kind=\"not_acceptable\"}"));
        // The load generator checks binary answers byte for byte.
        LoadGenerator.Result result = LoadGenerator.run(new LoadGenerator.Settings(URI.create("http://127.0.0.1:" + server.port()),
                dir, 200, 0, 4, 0.5, 0.1, 50, 10, new LoadGenerator.Shape(Mode.TARQ, -1, -1), true, 5, Duration.ofSeconds(20)));
        assertEquals(0, result.errors(), result.text());
        assertEquals(0, result.mismatches(), result.text());
        assertTrue(result.ok() >= 50, result.text());
        assertTrue(result.json().contains("\"answers\": \"binary\""), result.json());
    }

    private static void check(TopK want, HttpResponse<String> response) {
        assertEquals(200, response.statusCode(), response.body());
        ExpectedAnswers.Answer got = ExpectedAnswers.Response.parse(response.body()).answer();
        long[] ids = new long[want.size()];
        float[] scores = new float[want.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = want.id(i);
            scores[i] = want.score(i);
        }
        assertArrayEquals(ids, got.ids(), response.body());
        assertTrue(new ExpectedAnswers.Answer(ids, scores).matches(got), response.body());
    }

    @Test
    void faultsAreOneLineAnswersWithTheRightStatus() throws Exception {
        install(dir, 1, versionOne);
        start(1, 4, 0);
        String malformed = "{\"user\": 1, \"history\": [], \"candidates\": [1, 2}";
        HttpResponse<String> bad = post("/v1/score", malformed);
        assertEquals(400, bad.statusCode());
        // The message `./tarq score` gives for the same line.
        String cli = org.junit.jupiter.api.Assertions.assertThrows(io.tarq.tools.jsonl.RequestFormatException.class,
                () -> new io.tarq.tools.jsonl.RequestLineParser().parse(malformed)).getMessage();
        assertEquals("{\"error\":" + ScoreAnswer.quote(cli) + "}\n", bad.body());
        assertEquals("expected ',' or ']' in \"candidates\" at column 47", cli);
        HttpResponse<String> unknown = post("/v1/score", "{\"user\": 1, \"history\": [], \"candidates\": [-5]}");
        assertEquals(400, unknown.statusCode());
        assertTrue(unknown.body().contains("candidate id -5 at candidates[0] is not in the catalog"), unknown.body());
        HttpResponse<String> skipped = post("/v1/score", "{\"user\": 1, \"history\": [], \"candidates\": [-5], \"skip_unknown\": true}");
        assertEquals("{\"scores\":[null],\"version\":1}\n", skipped.body());
        assertEquals(400, post("/v1/topk", "{\"user\": 1, \"history\": [], \"candidates\": [1]}").statusCode());
        assertEquals(400, post("/v1/score", "{\"user\": 1, \"history\": [], \"candidates\": [1], \"k\": 1}").statusCode());
        assertEquals(400, post("/v1/topk", "{\"user\": 1, \"history\": [], \"candidates\": [1], \"k\": 5, \"rescore\": 2}").statusCode(),
                "k' < k");
        assertEquals(400, post("/v1/score", "{\"user\": 1, \"history\": [], \"candidates\": [1], \"mode\": \"fast\"}").statusCode());
        HttpResponse<String> huge = post("/v1/score", " ".repeat(LineReaderLimit.of(RequestLimits.DEFAULT) + 1));
        assertEquals(400, huge.statusCode());
        assertTrue(huge.body().contains("the request limit"), huge.body());
        assertEquals(404, get("/v2/score").statusCode());
        HttpResponse<String> wrongMethod = get("/v1/score");
        assertEquals(405, wrongMethod.statusCode());
        assertEquals("POST", wrongMethod.headers().firstValue("Allow").orElse(""));
        for (HttpResponse<String> r : List.of(bad, unknown, huge, wrongMethod)) {
            assertEquals(1, r.body().lines().count(), r.body());
            assertFalse(r.body().contains("Exception"), r.body());
        }
        assertTrue(get("/v1/model").body().startsWith("{\"version\":1,"));
        assertEquals(200, get("/ready").statusCode());
        Map<String, Double> metrics = parseMetrics(get("/metrics").body());
        assertEquals(1.0, metrics.get("tarq_errors_total{kind=\"unknown_candidate\"}"));
        assertEquals(1.0, metrics.get("tarq_errors_total{kind=\"not_found\"}"));
        assertEquals(1.0, metrics.get("tarq_errors_total{kind=\"method_not_allowed\"}"));
        assertTrue(metrics.get("tarq_errors_total{kind=\"bad_request\"}") >= 5, metrics.toString());
        assertEquals(1.0, metrics.get("tarq_requests_total{mode=\"tarq\"}"));
    }

    /** The request-body bound, as the server computes it. */
    private static final class LineReaderLimit {
        static int of(RequestLimits limits) {
            return io.tarq.tools.jsonl.LineReader.maxChars(limits);
        }
    }

    @Test
    void overMaxInflightIsA503AtOnce() throws Exception {
        install(dir, 1, versionOne);
        start(1, 1, 0);
        // A request whose body has not all arrived holds the one admission slot: admission comes before the body.
        try (Socket slow = new Socket("127.0.0.1", server.port())) {
            String body = "{\"user\": 1, \"history\": [], \"candidates\": [-5], \"skip_unknown\": true}";
            OutputStream out = slow.getOutputStream();
            out.write(("POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body.substring(0, 10))
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            HttpResponse<String> refused = null;
            for (int attempt = 0; attempt < 1000; attempt++) { // until the slow request was admitted, however slow the machine
                refused = post("/v1/score", body);
                if (refused.statusCode() == 503) {
                    break;
                }
                Thread.sleep(10);
            }
            assertEquals(503, refused.statusCode(), refused.body());
            assertEquals("1", refused.headers().firstValue("Retry-After").orElse(""));
            assertEquals("{\"error\":\"overloaded: 1 requests in flight, the limit\"}\n", refused.body());
            out.write(body.substring(10).getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = slow.getInputStream();
            String head = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
            assertEquals("HTTP/1.1 200", head);
        }
        Map<String, Double> metrics = parseMetrics(get("/metrics").body());
        assertTrue(metrics.get("tarq_errors_total{kind=\"overloaded\"}") >= 1);
        assertEquals(200, post("/v1/score", "{\"user\": 1, \"history\": [], \"candidates\": [-5], \"skip_unknown\": true}").statusCode());
    }

    @Test
    void stopFinishesTheRequestsInFlightAndRefusesNewConnections() throws Exception {
        install(dir, 1, versionOne);
        start(1, 4, 0);
        int port = server.port();
        try (Socket slow = new Socket("127.0.0.1", port)) {
            String body = "{\"user\": 1, \"history\": [], \"candidates\": [-5], \"skip_unknown\": true}";
            OutputStream out = slow.getOutputStream();
            out.write(("POST /v1/score HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " + body.length() + "\r\n\r\n" + body.substring(0, 10))
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            while (parseMetrics(get("/metrics").body()).get("tarq_inflight_requests") < 1) { // admitted, body not read yet
                Thread.sleep(10);
            }
            CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> server.stop(20));
            // The listener closes at once: a new connection is refused while the admitted request is still open.
            for (int attempt = 0; attempt < 200; attempt++) {
                try {
                    new Socket("127.0.0.1", port).close();
                    Thread.sleep(10);
                } catch (java.net.ConnectException e) {
                    break;
                }
            }
            assertFalse(stopped.isDone(), "stop waits for the request in flight");
            out.write(body.substring(10).getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String answer = new String(slow.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
            assertTrue(answer.endsWith("{\"scores\":[null],\"version\":1}\n"), answer);
            stopped.get();
        }
        org.junit.jupiter.api.Assertions.assertThrows(java.net.ConnectException.class, () -> new Socket("127.0.0.1", port).close());
    }

    /** The transport's floor: GET /ready on the open-loop schedule, every answer a 200 naming the version, nothing scored. */
    @Test
    void theTransportFloorAsksReadyOnTheSameSchedule() throws Exception {
        install(dir, 3, versionOne);
        start(1, 4, 0);
        LoadGenerator.Result result = LoadGenerator.run(new LoadGenerator.Settings(URI.create("http://127.0.0.1:" + server.port()),
                dir, 200, 0, 4, 0.5, 0.1, 10, 5, LoadGenerator.Shape.TRANSPORT, false, 5, Duration.ofSeconds(20)));
        assertEquals(0, result.errors(), result.text());
        assertEquals(0, result.mismatches(), result.text());
        assertTrue(result.ok() >= 100, result.text());
        assertEquals(List.of(3L), new ArrayList<>(result.versions()), result.text());
        assertEquals(0.0, parseMetrics(get("/metrics").body()).getOrDefault("tarq_requests_total{mode=\"tt\"}", 0.0));
        assertTrue(result.json().contains("\"shape\": \"transport (GET /ready)\""), result.json());
    }

    @Test
    void aVersionRenamedIntoPlaceMidLoadSwapsInWithNoErrorAndNoMismatch() throws Exception {
        install(dir, 1, versionOne);
        start(2, 64, 50);
        Files.createDirectories(dir.resolve("7.tmp")); // not a version: ignored
        CompletableFuture<LoadGenerator.Result> load = CompletableFuture.supplyAsync(() -> {
            try {
                return LoadGenerator.run(new LoadGenerator.Settings(URI.create("http://127.0.0.1:" + server.port()), dir, 150, 0, 64,
                        4, 0.5, 200, 20, new LoadGenerator.Shape(Mode.TARQ, -1, -1), false, 5, Duration.ofSeconds(20)));
            } catch (IOException | InterruptedException e) {
                throw new RuntimeException(e);
            }
        });
        // Swap once the load has been answered by version 1 for a while, however slow the machine is to start it.
        while (parseMetrics(get("/metrics").body()).get("tarq_requests_total{mode=\"tarq\"}") < 100 && !load.isDone()) {
            Thread.sleep(20);
        }
        install(dir, 2, versionTwo);
        LoadGenerator.Result result = load.get();
        assertEquals(0, result.errors(), result.text());
        assertEquals(0, result.mismatches(), result.text());
        assertEquals(List.of(1L, 2L), new ArrayList<>(result.versions()), result.text());
        assertEquals(2, server.version());
        Map<String, Double> metrics = parseMetrics(get("/metrics").body());
        assertEquals(1.0, metrics.get("tarq_swaps_total"));
        assertEquals(2.0, metrics.get("tarq_model_version"));
        assertTrue(log.stream().anyMatch(l -> l.equals("serving version 2 (was 1)")), log.toString());
    }

    @Test
    void brokenVersionsAreLoggedOnceAndSkippedAndTheServedOneKeepsServing() throws Exception {
        install(dir, 1, versionOne);
        start(1, 4, 0);
        List<Path> broken = CorruptModels.write(versionOne, Files.createDirectories(dir.resolve("broken")));
        for (int i = 0; i < broken.size(); i++) {
            install(dir, 3 + i, broken.get(i)); // 3 truncated, 4 absurd header, 5 NaN weight (caught by the content checks)
        }
        HttpResponse<String> reload = post("/v1/admin/reload", "");
        assertEquals("{\"version\":1,\"swapped\":false,\"rejected\":[5,4,3]}\n", reload.body());
        assertEquals(3, log.size(), log.toString());
        assertTrue(log.get(0).startsWith("version 5 rejected, version 1 keeps serving: "), log.get(0));
        assertTrue(log.stream().noneMatch(l -> l.contains("\n")));
        // A second reload does not retry unchanged files (nor log them again).
        assertEquals("{\"version\":1,\"swapped\":false,\"rejected\":[]}\n", post("/v1/admin/reload", "").body());
        assertEquals(3, log.size(), log.toString());
        // A valid version 2 below the broken ones is the highest valid: it serves.
        install(dir, 2, versionTwo);
        assertEquals("{\"version\":2,\"swapped\":true,\"rejected\":[]}\n", post("/v1/admin/reload", "").body());
        Map<String, Double> metrics = parseMetrics(get("/metrics").body());
        assertEquals(3.0, metrics.get("tarq_rejected_versions_total"));
        assertEquals(1.0, metrics.get("tarq_swaps_total"));
        assertEquals(200, post("/v1/score", "{\"user\": 1, \"history\": [], \"candidates\": [-5], \"skip_unknown\": true}").statusCode());
    }

    @Test
    void aDirectoryWithoutAValidVersionIsOneLine() throws IOException {
        Files.createDirectories(dir.resolve("1.tmp"));
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> start(1, 1, 0));
        assertEquals(1, e.getMessage().lines().count());
        assertTrue(e.getMessage().contains("no valid model version"), e.getMessage());
    }

    private static final Pattern SAMPLE = Pattern.compile("([a-z_]+(?:\\{[a-z_]+=\"[^\"]*\"(?:,[a-z_]+=\"[^\"]*\")*})?) (-?[0-9.e+-]+|\\+Inf)");

    /** The Prometheus text format, strictly: HELP and TYPE lines, then samples; histogram buckets never decrease. */
    static Map<String, Double> parseMetrics(String text) {
        Map<String, Double> samples = new HashMap<>();
        Map<String, String> types = new HashMap<>();
        double previousBucket = -1;
        String previousSeries = "";
        for (String line : text.lines().toList()) {
            if (line.startsWith("# HELP ")) {
                continue;
            }
            if (line.startsWith("# TYPE ")) {
                String[] parts = line.split(" ");
                assertEquals(4, parts.length, line);
                assertTrue(List.of("counter", "gauge", "histogram").contains(parts[3]), line);
                types.put(parts[2], parts[3]);
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertTrue(m.matches(), "not a sample: " + line);
            String name = m.group(1).replaceFirst("\\{.*", "").replaceFirst("_(bucket|sum|count)$", "");
            assertTrue(types.containsKey(name) || types.containsKey(m.group(1).replaceFirst("\\{.*", "")), "no TYPE for " + line);
            double value = Double.parseDouble(m.group(2));
            if (m.group(1).contains("_bucket{")) {
                String series = m.group(1).replaceFirst(",le=.*", "");
                if (series.equals(previousSeries)) {
                    assertTrue(value >= previousBucket, "buckets decrease at " + line);
                }
                previousSeries = series;
                previousBucket = value;
            }
            samples.put(m.group(1), value);
        }
        return samples;
    }
}
