package io.tarq.tools.serve;

import static io.tarq.tools.serve.ScoreAnswer.error;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.tarq.engine.ItemVectors;
import io.tarq.engine.ModelLease;
import io.tarq.engine.RequestLimitException;
import io.tarq.engine.RequestLimits;
import io.tarq.engine.TarqEngine;
import io.tarq.engine.UnknownCandidateException;
import io.tarq.layout.TarqDimensions;
import io.tarq.tools.jsonl.LineReader;
import io.tarq.tools.jsonl.RequestFormatException;
import io.tarq.tools.jsonl.ServeRequest;
import io.tarq.tools.jsonl.ServeRequestParser;
import io.tarq.tools.jsonl.Utf8Text;
import io.tarq.tools.serve.ServerMetrics.ErrorKind;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The reference HTTP/1.1 JSON server around a {@link TarqEngine}: the JDK's own {@code com.sun.net.httpserver}, one
 * virtual thread an exchange, no dependency. It stays thin: the engine scores, swaps and reference-counts versions;
 * the server parses, admits, answers and counts.
 *
 * <p><b>Admission.</b> A scoring request is admitted if fewer than {@code maxInflight} are (queued or running), else it
 * gets 503 with {@code Retry-After} at once, before its body is read. Admitted requests are scored on a pool of
 * {@code threads} platform threads, in arrival order; a request's queueing delay is thus bounded by about
 * {@code maxInflight / threads} service times. Scoring stays off the virtual threads on purpose: a virtual thread is
 * never preempted, so CPU-bound scoring on them would hold every carrier, and the next exchange, whose admission
 * check would refuse it in microseconds, would wait behind the scoring in the scheduler's unbounded queue (measured:
 * at 2× saturation, answers seconds late and almost no 503s). On platform threads the OS time-slices the scoring
 * with the carriers, which keep reading, admitting and refusing.
 */
public final class TarqServer implements AutoCloseable {
    /** How the server runs. {@code pollMillis} ≤ 0: no directory watching (reload on demand only). */
    public record Config(Path modelDir, String host, int port, int threads, int maxInflight, int maxBatch,
                         RequestLimits limits, ItemVectors itemVectors, int warmupRequests, long pollMillis) {
        public Config {
            Objects.requireNonNull(modelDir, "modelDir");
            if (threads < 1 || maxInflight < 1 || maxBatch < 1 || warmupRequests < 0 || port < 0) {
                throw new IllegalArgumentException("threads, maxInflight and maxBatch must be at least 1, warmupRequests and port at least 0");
            }
        }
    }

    private static final String JSON = "application/json";
    /** The media type of a binary {@code /v1/score} answer ({@link ScoreAnswer#writeBinary}). */
    public static final String BINARY = "application/octet-stream";
    /** The header that names the version of a binary answer (a JSON answer names it in its body). */
    public static final String VERSION_HEADER = "Tarq-Version";
    private static final String RETRY_AFTER_SECONDS = "1";

    private final Config config;
    private final ModelReloader reloader;
    private final ServerMetrics metrics = new ServerMetrics();
    private final AtomicInteger inflight = new AtomicInteger();
    private final ExecutorService scoring;
    private final int maxBodyBytes;
    private final HttpServer http;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final Consumer<String> log;
    private volatile boolean stopping;
    private volatile boolean warming; // requests to itself before it reports ready: /ready answers 503

    private TarqServer(Config config, ModelReloader reloader, Consumer<String> log) throws IOException {
        this.config = config;
        this.reloader = reloader;
        this.log = log;
        this.scoring = Executors.newFixedThreadPool(config.threads(), Thread.ofPlatform().daemon().name("tarq-score-", 1).factory());
        // A batch must fit in what one request at the limits may take: the body bound does not grow with the batch.
        this.maxBodyBytes = LineReader.maxChars(config.limits());
        this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 0);
        http.createContext("/", this::handle);
        http.setExecutor(executor);
    }

    /**
     * Opens the highest valid version, warms it, then listens (so {@code /ready} answers 200 from the first
     * connection) and watches the directory.
     */
    public static TarqServer start(Config config, Consumer<String> log) throws IOException {
        // The JDK server's knobs are system properties read once, when its first instance is made. Without
        // TCP_NODELAY a small answer can wait for the client's delayed ACK (Nagle); an explicit setting wins.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
        ModelReloader reloader = ModelReloader.open(new ModelDirectory(config.modelDir()), TarqEngine.builder(),
                config.itemVectors(), config.limits(), config.warmupRequests(), log);
        TarqServer server;
        try {
            server = new TarqServer(config, reloader, log);
            if (config.pollMillis() > 0) {
                reloader.watch(config.pollMillis());
            }
        } catch (IOException | RuntimeException e) {
            reloader.close();
            throw e;
        }
        server.warming = config.warmupRequests() > 0;
        server.http.start();
        if (server.warming) {
            try {
                server.warmUpThePath();
            } catch (IOException | RuntimeException e) {
                server.close();
                throw e;
            }
        }
        return server;
    }

    /** {@link PathWarmup}: {@code 4 × warmupRequests} small requests through the server's own HTTP path. */
    private void warmUpThePath() throws IOException {
        InetAddress bound = http.getAddress().getAddress();
        URI self;
        try {
            self = new URI("http", null, bound.isAnyLocalAddress() ? "127.0.0.1" : bound.getHostAddress(), port(), null, null, null);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        try (ModelLease lease = reloader.engine().acquire()) {
            PathWarmup.run(self, lease.model(), 4 * config.warmupRequests());
        }
        warming = false;
    }

    /** The port listened on (the one chosen by the system when the config asked for 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    public long version() {
        return reloader.version();
    }

    /**
     * Stops gracefully: {@code /ready} turns 503, the listener closes (no new connections), requests in flight finish
     * (waiting at most {@code drainSeconds}), then the engine closes. Idempotent.
     */
    public synchronized void stop(int drainSeconds) {
        if (stopping && executor.isShutdown()) {
            return;
        }
        stopping = true;
        http.stop(drainSeconds);
        executor.shutdown();
        scoring.shutdown();
        reloader.close();
    }

    @Override
    public void close() {
        stop(0);
    }

    // ---------------------------------------------------------------- routing

    private void handle(HttpExchange exchange) {
        long start = System.nanoTime();
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            String method = exchange.getRequestMethod();
            switch (path) {
                case "/v1/score", "/v1/topk" -> {
                    if (allowed(exchange, method, "POST")) {
                        score(exchange, path.equals("/v1/topk"), start);
                    }
                }
                case "/v1/model" -> {
                    if (allowed(exchange, method, "GET")) {
                        send(exchange, 200, JSON, model());
                    }
                }
                case "/ready" -> {
                    if (allowed(exchange, method, "GET")) {
                        boolean ready = !stopping && !warming;
                        send(exchange, ready ? 200 : 503, JSON, "{\"ready\":" + ready + ",\"version\":" + reloader.version() + "}\n");
                    }
                }
                case "/metrics" -> {
                    if (allowed(exchange, method, "GET")) {
                        send(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.prometheus(snapshot()));
                    }
                }
                case "/v1/admin/reload" -> {
                    if (allowed(exchange, method, "POST")) {
                        reload(exchange);
                    }
                }
                default -> {
                    metrics.error(ErrorKind.NOT_FOUND);
                    send(exchange, 404, JSON, error("no endpoint " + path));
                }
            }
        } catch (IOException e) {
            // The client went away mid-exchange: nothing to answer.
        } catch (RuntimeException | Error e) {
            // A fault of the server, never of the request: one log line, and the client gets one line too.
            metrics.error(ErrorKind.INTERNAL);
            log.accept("internal error on " + exchange.getRequestURI().getPath() + ": " + e);
            try {
                send(exchange, 500, JSON, error("internal error"));
            } catch (IOException | RuntimeException ignored) {
                // headers already sent, or the connection is gone
            }
        }
    }

    private boolean allowed(HttpExchange exchange, String method, String expected) throws IOException {
        if (method.equals(expected)) {
            return true;
        }
        metrics.error(ErrorKind.METHOD_NOT_ALLOWED);
        exchange.getResponseHeaders().set("Allow", expected);
        send(exchange, 405, JSON, error(method + " is not allowed here; use " + expected));
        return false;
    }

    // ---------------------------------------------------------------- scoring

    private void score(HttpExchange exchange, boolean topk, long start) throws IOException {
        // The server's requests to itself are not traffic. Read on arrival: the warm-up ends as soon as its last answer
        // is sent, before this thread counts it.
        boolean counted = !warming;
        if (inflight.incrementAndGet() > config.maxInflight()) {
            inflight.decrementAndGet();
            if (counted) {
                metrics.error(ErrorKind.OVERLOADED);
            }
            exchange.getResponseHeaders().set("Retry-After", RETRY_AFTER_SECONDS);
            send(exchange, 503, JSON, error("overloaded: " + config.maxInflight() + " requests in flight, the limit"));
            return;
        }
        try {
            boolean binary = acceptsBinary(exchange);
            if (binary && topk) {
                metrics.error(ErrorKind.NOT_ACCEPTABLE);
                send(exchange, 406, JSON, error("/v1/topk answers JSON only; " + BINARY + " is for /v1/score"));
                return;
            }
            String body = readBody(exchange);
            ServeRequestParser.Body parsed;
            if (body == null) {
                return; // answered: too large or not UTF-8
            }
            try {
                parsed = new ServeRequestParser(config.limits(), config.maxBatch()).parse(body);
                checkEndpoint(parsed.requests(), topk);
            } catch (RequestFormatException e) {
                metrics.error(e.getMessage().contains("the request limit") ? ErrorKind.OVER_LIMIT : ErrorKind.BAD_REQUEST);
                send(exchange, 400, JSON, error(e.getMessage()));
                return;
            }
            Answer answer;
            try {
                answer = scoreOnPool(lease -> binary ? Answer.of(ScoreAnswer.writeBinary(lease, parsed))
                        : Answer.of(ScoreAnswer.write(lease, parsed, topk)));
            } catch (UnknownCandidateException e) {
                metrics.error(ErrorKind.UNKNOWN_CANDIDATE);
                send(exchange, 400, JSON, error(e.getMessage() + " (send \"skip_unknown\": true to score it as null)"));
                return;
            } catch (RequestLimitException e) {
                metrics.error(ErrorKind.OVER_LIMIT);
                send(exchange, 400, JSON, error(e.getMessage()));
                return;
            } catch (IllegalStateException e) {
                // The engine closed under us: the server is stopping.
                metrics.error(ErrorKind.OVERLOADED);
                exchange.getResponseHeaders().set("Retry-After", RETRY_AFTER_SECONDS);
                send(exchange, 503, JSON, error("the server is stopping"));
                return;
            } catch (IllegalArgumentException e) {
                metrics.error(ErrorKind.BAD_REQUEST);
                send(exchange, 400, JSON, error(e.getMessage()));
                return;
            }
            if (answer.version() != null) {
                exchange.getResponseHeaders().set(VERSION_HEADER, answer.version());
            }
            send(exchange, 200, answer.contentType(), answer.bytes());
            if (counted) {
                String label = parsed.batch() ? "batch" : parsed.requests().get(0).label();
                for (ServeRequest r : parsed.requests()) {
                    metrics.scored(r.label());
                }
                metrics.latency(label, System.nanoTime() - start);
            }
        } finally {
            inflight.decrementAndGet();
        }
    }

    /** An answer ready to send: its media type, its bytes, and the version header's value (null: JSON names it). */
    private record Answer(String contentType, byte[] bytes, String version) {
        static Answer of(String json) {
            return new Answer(JSON, json.getBytes(StandardCharsets.UTF_8), null);
        }

        static Answer of(ScoreAnswer.Binary binary) {
            return new Answer(BINARY, binary.bytes(), Long.toString(binary.version()));
        }
    }

    /** Scores on one of the {@code threads} platform threads, in arrival order; the exchange's virtual thread waits. */
    private <T> T scoreOnPool(Function<ModelLease, T> answer) {
        Future<T> result = scoring.submit(() -> {
            try (ModelLease lease = reloader.engine().acquire()) {
                return answer.apply(lease);
            }
        });
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return result.get();
                } catch (InterruptedException e) {
                    interrupted = true; // the request is admitted: answer it
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException r) {
                        throw r;
                    }
                    if (e.getCause() instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException(e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The body as text, or null after answering 400 (too large, not UTF-8). Never reads more than the bound + 1. */
    private String readBody(HttpExchange exchange) throws IOException {
        byte[] bytes;
        try (InputStream in = exchange.getRequestBody()) {
            bytes = in.readNBytes(maxBodyBytes + 1);
        }
        if (bytes.length > maxBodyBytes) {
            metrics.error(ErrorKind.OVER_LIMIT);
            send(exchange, 400, JSON, error("the request body is over " + maxBodyBytes + " bytes, the request limit"));
            return null;
        }
        try {
            return Utf8Text.decode(bytes);
        } catch (CharacterCodingException e) {
            metrics.error(ErrorKind.BAD_REQUEST);
            send(exchange, 400, JSON, error("the request body is not valid UTF-8"));
            return null;
        }
    }

    /**
     * Whether the client asked for a binary answer: {@code application/octet-stream} among the media ranges of its
     * {@code Accept} headers (parameters and q-values are not weighed; JSON is the answer otherwise).
     */
    static boolean acceptsBinary(HttpExchange exchange) {
        List<String> accept = exchange.getRequestHeaders().get("Accept");
        if (accept == null) {
            return false;
        }
        for (String header : accept) {
            for (String range : header.split(",")) {
                int semicolon = range.indexOf(';');
                String type = (semicolon < 0 ? range : range.substring(0, semicolon)).strip();
                if (type.equalsIgnoreCase(BINARY)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static void checkEndpoint(List<ServeRequest> requests, boolean topk) throws RequestFormatException {
        for (int i = 0; i < requests.size(); i++) {
            ServeRequest r = requests.get(i);
            String which = requests.size() > 1 ? "request " + (i + 1) + ": " : "";
            if (topk && r.k() == ServeRequest.ABSENT) {
                throw new RequestFormatException(which + "missing \"k\" (/v1/topk answers the best k)");
            }
            if (!topk && (r.k() != ServeRequest.ABSENT || r.cascade())) {
                throw new RequestFormatException(which + "\"k\" and \"rescore\" belong to /v1/topk");
            }
        }
    }


    // ---------------------------------------------------------------- other endpoints

    private String model() {
        try (ModelLease lease = reloader.engine().acquire()) {
            TarqDimensions d = lease.model().dimensions();
            return "{\"version\":" + ModelDirectory.versionOf(lease.path())
                    + ",\"format_version\":" + d.formatVersion()
                    + ",\"items\":" + d.items() + ",\"users\":" + d.users()
                    + ",\"d\":" + d.d() + ",\"heads\":" + d.heads() + ",\"dv\":" + d.dv() + ",\"n_max\":" + d.nMax()
                    + ",\"levels\":" + d.levels() + ",\"codebook_size\":" + d.codebookSize()
                    + ",\"head\":\"" + (d.crossHead() ? "cross" : "readout") + "\",\"cross_dim\":" + d.crossDim()
                    + ",\"kernels\":\"" + lease.model().kernelName() + "\""
                    + ",\"item_vectors\":\"" + lease.model().itemVectors().cliName() + "\""
                    + ",\"limits\":{\"max_candidates\":" + config.limits().maxCandidates()
                    + ",\"max_history\":" + config.limits().maxHistory() + ",\"max_k\":" + config.limits().maxK() + "}}\n";
        }
    }

    private void reload(HttpExchange exchange) throws IOException {
        exchange.getRequestBody().close();
        ModelReloader.Result r;
        try {
            r = reloader.reload();
        } catch (IOException e) {
            send(exchange, 500, JSON, error("cannot read " + config.modelDir() + ": " + ModelReloader.oneLine(e)));
            return;
        }
        StringBuilder rejected = new StringBuilder();
        for (long v : r.rejected()) {
            rejected.append(rejected.isEmpty() ? "" : ",").append(v);
        }
        send(exchange, 200, JSON, "{\"version\":" + r.version() + ",\"swapped\":" + r.swapped() + ",\"rejected\":[" + rejected + "]}\n");
    }

    private ServerMetrics.Snapshot snapshot() {
        TarqEngine engine = reloader.engine();
        return new ServerMetrics.Snapshot(reloader.version(), reloader.swaps(), reloader.rejections(), engine.rejectedSwaps(),
                engine.liveModels(), inflight.get(), config.maxInflight(), !stopping && !warming);
    }

    // ---------------------------------------------------------------- writing

    private static void send(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        send(exchange, status, contentType, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange exchange, int status, String contentType, byte[] bytes) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
