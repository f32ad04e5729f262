package io.tarq.tools.serve;

import io.tarq.engine.Mode;
import io.tarq.engine.TarqModel;
import io.tarq.tools.InterleavedLatency;
import io.tarq.tools.jsonl.RequestLine;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * Requests a server sends itself over loopback before it reports ready: the engine's warm-up ({@link Warmup}) compiles
 * the scoring, but a JVM server's request path is also the HTTP server's, the body's parser and the answer's writer,
 * thousands of methods the JIT compiles only after thousands of calls. Without this the first seconds of traffic after
 * a start pay for those compilations on the serving cores. Every mode, top-k, the cascade and binary answers take
 * turns, at M = min(100, N): the path does not depend on M, and small requests make the calls cheap.
 */
final class PathWarmup {
    private static final int CANDIDATES = 100;
    private static final int HISTORY = 20;

    private PathWarmup() {
    }

    /**
     * Sends {@code requests} requests to the server at {@code base} on two keep-alive connections (one asking for JSON
     * answers, one for binary) and checks that each is answered 200; throws {@link IllegalStateException} naming the
     * first that is not.
     */
    static void run(URI base, TarqModel model, int requests) throws IOException {
        int candidates = Math.min(CANDIDATES, model.dimensions().items());
        List<RequestLine> pool = InterleavedLatency.randomRequests(model, candidates, HISTORY, 2);
        Mode[] modes = Mode.values();
        LoadGenerator.Shape[] shapes = new LoadGenerator.Shape[modes.length + 2];
        for (int m = 0; m < modes.length; m++) {
            shapes[m] = new LoadGenerator.Shape(modes[m], -1, -1);
        }
        int k = Math.min(10, candidates);
        shapes[modes.length] = new LoadGenerator.Shape(Mode.TARQ, k, -1);
        shapes[modes.length + 1] = new LoadGenerator.Shape(Mode.TARQ, k, Math.min(4 * k, candidates));
        try (HttpConnection json = new HttpConnection(base, Duration.ofSeconds(30));
             HttpConnection binary = new HttpConnection(base, Duration.ofSeconds(30), TarqServer.BINARY)) {
            for (int i = 0; i < requests; i++) {
                LoadGenerator.Shape shape = shapes[i % shapes.length];
                // Every other /v1/score request asks for the binary answer.
                boolean asBinary = shape.k() < 0 && (i / shapes.length) % 2 == 1;
                HttpConnection connection = asBinary ? binary : json;
                String body = ExpectedAnswers.body(pool.get(i % pool.size()), shape);
                HttpConnection.Answer answer = connection.exchange("POST", shape.endpoint(), body);
                // A 503: the previous answer arrived before its admission slot was freed (a limit of 1, say).
                for (int retry = 0; answer.status() == 503 && retry < 100; retry++) {
                    answer = connection.exchange("POST", shape.endpoint(), body);
                }
                if (answer.status() != 200) {
                    throw new IllegalStateException("warm-up through HTTP: " + shape.label() + " answered " + answer.status()
                            + ": " + answer.body().strip());
                }
            }
        }
    }
}
