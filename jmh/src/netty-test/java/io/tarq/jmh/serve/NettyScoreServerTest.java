package io.tarq.jmh.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.ModelLease;
import io.tarq.engine.TarqEngine;
import io.tarq.engine.RequestLimits;
import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.tools.jsonl.ServeRequestParser;
import io.tarq.tools.serve.ScoreAnswer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Netty front end answers what the JDK server answers: {@link ScoreAnswer}'s bytes for the same body. */
class NettyScoreServerTest {
    @TempDir
    Path dir;

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Test
    void answersScoresTopKAndOverloadAsTheJdkServerDoes() throws Exception {
        Path model = dir.resolve("3").resolve("model.safetensors");
        Files.createDirectories(model.getParent());
        SyntheticModel.write(SyntheticModelSpec.defaults(500).withUsers(20).withNMax(16).withSeed(5), model);
        String score = "{\"user\": " + SyntheticModel.userId(2) + ", \"history\": [" + SyntheticModel.itemId(7) + ", "
                + SyntheticModel.itemId(9) + "], \"candidates\": [" + SyntheticModel.itemId(1) + ", " + SyntheticModel.itemId(4)
                + ", -5], \"mode\": \"tarq\", \"skip_unknown\": true}";
        String topk = "{\"user\": " + SyntheticModel.userId(2) + ", \"history\": [], \"candidates\": [" + SyntheticModel.itemId(1)
                + ", " + SyntheticModel.itemId(4) + ", " + SyntheticModel.itemId(8) + "], \"mode\": \"tt\", \"k\": 2}";
        try (NettyScoreServer server = new NettyScoreServer(model, 0, 1, 2);
             TarqEngine engine = TarqEngine.open(model);
             ModelLease lease = engine.acquire()) {
            URI base = URI.create("http://127.0.0.1:" + server.port());
            HttpResponse<String> scored = post(base.resolve("/v1/score"), score);
            assertEquals(200, scored.statusCode());
            assertEquals(ScoreAnswer.write(lease, parse(score), false), scored.body());
            assertTrue(scored.body().contains("null") && scored.body().contains("\"version\":3"), scored.body());
            HttpResponse<String> top = post(base.resolve("/v1/topk"), topk);
            assertEquals(ScoreAnswer.write(lease, parse(topk), true), top.body());
            HttpResponse<String> bad = post(base.resolve("/v1/score"), "{\"user\": 1,");
            assertEquals(400, bad.statusCode());
            assertTrue(bad.body().startsWith("{\"error\":\""), bad.body());
            assertEquals(404, client.send(HttpRequest.newBuilder(base.resolve("/v2")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            assertEquals("{\"ready\":true,\"version\":3}\n",
                    client.send(HttpRequest.newBuilder(base.resolve("/ready")).build(), HttpResponse.BodyHandlers.ofString()).body());
            assertEquals("{\"version\":3,\"item_vectors\":\"float32\"}\n",
                    client.send(HttpRequest.newBuilder(base.resolve("/v1/model")).build(), HttpResponse.BodyHandlers.ofString()).body());
        }
    }

    private HttpResponse<String> post(URI uri, String body) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static ServeRequestParser.Body parse(String body) throws Exception {
        return new ServeRequestParser(RequestLimits.DEFAULT, 64).parse(body);
    }
}
