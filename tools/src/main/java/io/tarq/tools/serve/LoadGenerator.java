package io.tarq.tools.serve;

import io.tarq.engine.ItemVectors;
import io.tarq.engine.Mode;
import io.tarq.engine.TarqModel;
import io.tarq.tools.InterleavedLatency;
import io.tarq.tools.jsonl.RequestLine;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Load against a running {@code ./tarq serve}, every answer checked. Open loop ({@code rate} > 0): request i is due at
 * start + i / rate; {@code connections} threads, each with its own keep-alive connection ({@link HttpConnection}),
 * take the requests in order, each waiting for its request's due time and sending it then, whether or not earlier
 * ones were answered. A request's latency runs from its due time, so a stalled server is charged for the requests it
 * kept waiting, also when every connection was busy (no coordinated omission). Closed loop ({@code concurrency} >
 * 0): that many connections send back to back, which finds the throughput at saturation. Requests sent during the
 * warm-up are checked but not timed.
 *
 * <p>Each answer names the version that scored it; it must equal, bit for bit, what that version's file
 * ({@code MODEL_DIR/<N>/model.safetensors}) gives in process for the same request.
 */
public final class LoadGenerator {

    /**
     * What each request asks: a mode, and for /v1/topk k (and rescore k' for the cascade); −1 when absent. A null mode
     * ({@link #TRANSPORT}) asks {@code GET /ready} instead: the HTTP exchange without scoring.
     */
    public record Shape(Mode mode, int k, int rescore) {
        /** {@code GET /ready} on the same schedule: what the exchange alone costs at that load. */
        public static final Shape TRANSPORT = new Shape(null, -1, -1);

        String endpoint() {
            return mode == null ? "/ready" : k >= 0 ? "/v1/topk" : "/v1/score";
        }

        String label() {
            return mode == null ? "transport (GET /ready)" : rescore >= 0 ? "cascade k=" + k + " k'=" + rescore
                    : k >= 0 ? mode.cliName() + " top-" + k : mode.cliName();
        }
    }

    /**
     * {@code connections}: requests in flight at most, as a client with a pool of that many keep-alive connections.
     * {@code binary}: ask {@code /v1/score} for its binary answer ({@code Accept: application/octet-stream}).
     */
    public record Settings(URI base, Path modelDir, double rate, int concurrency, int connections, double seconds,
                           double warmupSeconds, int candidates, int history, Shape shape, boolean binary, long seed,
                           Duration timeout) {
        public Settings {
            if (binary && (shape.mode() == null || shape.k() >= 0)) {
                throw new IllegalArgumentException("binary answers are for /v1/score only");
            }
        }
    }

    /** Latencies in nanoseconds, of the timed answered requests (200) and of the timed 503s. */
    public record Result(Settings settings, long ok, long rejected, long errors, long mismatches, Histogram okLatency,
                         Histogram rejectedLatency, double timedSeconds, Set<Long> versions, String firstError) {
        public double throughput() {
            return okLatency.getTotalCount() / timedSeconds;
        }

        public String json() {
            return String.format(Locale.ROOT, "{\"url\": \"%s\", \"shape\": \"%s\", \"answers\": \"%s\", \"candidates\": %d, \"offered_rps\": %s, "
                            + "\"concurrency\": %d, \"connections\": %d, \"seconds\": %.1f, \"throughput_rps\": %.1f, \"ok\": %d, \"rejected\": %d, "
                            + "\"errors\": %d, \"mismatches\": %d, \"p50_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f, "
                            + "\"max_us\": %.1f, \"rejected_p99_us\": %.1f, \"versions\": %s, \"first_error\": %s}",
                    settings.base(), settings.shape().label(), settings.binary() ? "binary" : "json", settings.candidates(),
                    settings.rate() > 0 ? String.format(Locale.ROOT, "%.1f", settings.rate()) : "null", settings.concurrency(),
                    settings.connections(),
                    timedSeconds, throughput(), ok, rejected, errors, mismatches, us(okLatency, 50), us(okLatency, 99),
                    us(okLatency, 99.9), okLatency.getMaxValue() / 1e3, us(rejectedLatency, 99), versions,
                    firstError == null ? "null" : ScoreAnswer.quote(firstError));
        }

        public String text() {
            String load = settings.rate() > 0 ? String.format(Locale.ROOT, "offered %.0f req/s", settings.rate())
                    : "concurrency " + settings.concurrency();
            return String.format(Locale.ROOT, "%s%s%s, %s, M = %d, %.0f s timed: %.1f answers/s%n"
                            + "latency of answers (from the due send time): p50 %.1f µs, p99 %.1f µs, p99.9 %.1f µs, max %.1f µs%n"
                            + "%d answered, %d refused (503), %d errors, %d mismatches; versions seen %s%s",
                    settings.base(), settings.shape().endpoint(), settings.binary() ? " (binary answers)" : "", load, settings.candidates(), timedSeconds, throughput(),
                    us(okLatency, 50), us(okLatency, 99), us(okLatency, 99.9), okLatency.getMaxValue() / 1e3,
                    ok, rejected, errors, mismatches, versions, firstError == null ? "" : "\nfirst error: " + firstError);
        }

        private static double us(Histogram h, double percentile) {
            return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1e3;
        }
    }

    private static final Pattern VERSION = Pattern.compile("\"version\":(\\d+)");
    private static final Pattern ITEM_VECTORS = Pattern.compile("\"item_vectors\":\"([a-z0-9]+)\"");

    private final Settings settings;
    private final String[] bodies;
    private final ExpectedAnswers expected;
    private final ConcurrentHistogram okLatency = new ConcurrentHistogram(TimeUnit.MINUTES.toNanos(10), 3);
    private final ConcurrentHistogram rejectedLatency = new ConcurrentHistogram(TimeUnit.MINUTES.toNanos(10), 3);
    private final AtomicLong ok = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong mismatches = new AtomicLong();
    private final Set<Long> versions = new ConcurrentSkipListSet<>();
    private final AtomicReference<String> firstError = new AtomicReference<>();
    private final AtomicLong nextRequest = new AtomicLong();

    private LoadGenerator(Settings settings, List<RequestLine> requests, ExpectedAnswers expected) {
        this.settings = settings;
        this.expected = expected;
        this.bodies = expected == null ? new String[] {null}
                : requests.stream().map(r -> ExpectedAnswers.body(r, settings.shape())).toArray(String[]::new);
    }

    /** Asks the server which version and item vectors it serves, draws the requests from that version, and runs. */
    public static Result run(Settings settings) throws IOException, InterruptedException {
        HttpConnection.Answer model;
        try (HttpConnection connection = new HttpConnection(settings.base(), settings.timeout())) {
            model = connection.exchange("GET", "/v1/model", null);
        }
        Matcher version = VERSION.matcher(model.body());
        Matcher vectors = ITEM_VECTORS.matcher(model.body());
        if (model.status() != 200 || !version.find() || !vectors.find()) {
            throw new IOException(settings.base() + "/v1/model answered " + model.status() + ", not a tarq model description");
        }
        ModelDirectory directory = new ModelDirectory(settings.modelDir());
        ItemVectors itemVectors = ItemVectors.fromCliName(vectors.group(1));
        List<RequestLine> requests;
        try (TarqModel served = TarqModel.open(directory.modelFile(Long.parseLong(version.group(1))), itemVectors)) {
            requests = InterleavedLatency.randomRequests(served, settings.candidates(), settings.history(),
                    settings.seed());
        }
        if (settings.shape().mode() == null) {
            return new LoadGenerator(settings, requests, null).run();
        }
        ExpectedAnswers expected = new ExpectedAnswers(directory, itemVectors, requests, settings.shape());
        expected.text(Long.parseLong(version.group(1)), 0); // scored now, not while the schedule runs
        return new LoadGenerator(settings, requests, expected).run();
    }

    private Result run() throws InterruptedException {
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
        long timedFrom = start + (long) (settings.warmupSeconds() * 1e9);
        long end = start + (long) ((settings.warmupSeconds() + settings.seconds()) * 1e9);
        boolean open = settings.rate() > 0;
        double periodNanos = open ? 1e9 / settings.rate() : 0;
        int threads = open ? settings.connections() : settings.concurrency();
        List<Thread> clients = new ArrayList<>(threads);
        for (int c = 0; c < threads; c++) {
            clients.add(Thread.ofPlatform().daemon().name("tarq-load-", c).start(() -> {
                try (HttpConnection connection = new HttpConnection(settings.base(), settings.timeout(),
                        settings.binary() ? TarqServer.BINARY : null)) {
                    while (true) {
                        long i = nextRequest.getAndIncrement();
                        long due = open ? start + (long) (i * periodNanos) : Math.max(start, System.nanoTime());
                        if (due >= end) {
                            return;
                        }
                        long wait;
                        while ((wait = due - System.nanoTime()) > 0) {
                            LockSupport.parkNanos(wait);
                        }
                        send(connection, (int) (i % bodies.length), due, due >= timedFrom);
                    }
                }
            }));
        }
        for (Thread client : clients) {
            client.join(); // each ends by its request's timeout at the latest
        }
        return new Result(settings, ok.get(), rejected.get(), errors.get(), mismatches.get(), okLatency.copy(),
                rejectedLatency.copy(), settings.seconds(), new TreeSet<>(versions), firstError.get());
    }

    private void send(HttpConnection connection, int index, long due, boolean timed) {
        HttpConnection.Answer response;
        try {
            response = connection.exchange(expected == null ? "GET" : "POST", settings.shape().endpoint(), bodies[index]);
        } catch (IOException | RuntimeException e) {
            error("request failed: " + e);
            return;
        }
        long latency = System.nanoTime() - due;
        switch (response.status()) {
            case 200 -> {
                if (timed) {
                    okLatency.recordValue(Math.min(latency, okLatency.getHighestTrackableValue()));
                }
                ok.incrementAndGet();
                String body = settings.binary() ? null : response.body();
                long version = body == null ? binaryVersion(response) : textVersion(body);
                if (version < 0) {
                    return; // counted as an error
                }
                versions.add(version);
                if (expected == null) {
                    return; // the transport's floor: nothing was scored
                }
                boolean same;
                try {
                    same = body == null ? Arrays.equals(expected.bytes(version, index), response.bytes())
                            : expected.text(version, index).equals(body);
                } catch (RuntimeException e) {
                    error("cannot score version " + version + " in process: " + e.getMessage());
                    return;
                }
                if (!same) {
                    mismatches.incrementAndGet();
                    firstError.compareAndSet(null, "version " + version + " answered request " + index
                            + " differently from the same version in process" + (body == null ? " (binary)" : ""));
                }
            }
            case 503 -> {
                if (timed) {
                    rejectedLatency.recordValue(Math.min(latency, rejectedLatency.getHighestTrackableValue()));
                }
                rejected.incrementAndGet();
            }
            default -> error("HTTP " + response.status() + ": " + response.body().strip());
        }
    }

    /** The version a JSON answer names; -1, an error counted, when it names none. */
    private long textVersion(String body) {
        long version = ExpectedAnswers.versionOf(body);
        if (version < 0) {
            error("unreadable answer: " + body.lines().findFirst().orElse(""));
        }
        return version;
    }

    /** The version in a binary answer's header; -1, an error counted, when it has none or the answer is not binary. */
    private long binaryVersion(HttpConnection.Answer response) {
        long version;
        try {
            version = Long.parseLong(response.tarqVersion());
        } catch (NumberFormatException e) {
            version = -1;
        }
        if (version < 0) {
            error("a binary answer without a version header (" + TarqServer.VERSION_HEADER + ": " + response.tarqVersion() + ")");
            return -1;
        }
        if (!TarqServer.BINARY.equals(response.contentType())) {
            error("asked for " + TarqServer.BINARY + ", got " + response.contentType());
            return -1;
        }
        return version;
    }

    private void error(String message) {
        errors.incrementAndGet();
        firstError.compareAndSet(null, message);
    }
}
