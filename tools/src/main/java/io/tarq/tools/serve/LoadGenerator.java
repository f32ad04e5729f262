package io.tarq.tools.serve;

import io.tarq.engine.ItemVectors;
import io.tarq.engine.Mode;
import io.tarq.engine.TarqModel;
import io.tarq.tools.InterleavedLatency;
import io.tarq.tools.jsonl.RequestLine;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
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
 * start + i / rate and is sent then on its own virtual thread, whether or not earlier ones were answered, and its
 * latency runs from that due time, so a stalled server is charged for the requests it kept waiting (no coordinated
 * omission). Closed loop ({@code concurrency} > 0): that many clients send back to back, which finds the throughput at
 * saturation. Requests sent during the warm-up are checked but not timed.
 *
 * <p>Each answer names the version that scored it; it must equal, bit for bit, what that version's file
 * ({@code MODEL_DIR/<N>/model.safetensors}) gives in process for the same request.
 */
public final class LoadGenerator {

    /** What each request asks: a mode, and for /v1/topk k (and rescore k' for the cascade); −1 when absent. */
    public record Shape(Mode mode, int k, int rescore) {
        String endpoint() {
            return k >= 0 ? "/v1/topk" : "/v1/score";
        }

        String label() {
            return rescore >= 0 ? "cascade k=" + k + " k'=" + rescore : k >= 0 ? mode.cliName() + " top-" + k : mode.cliName();
        }
    }

    /** {@code connections}: requests in flight at most, as a client with a pool of that many keep-alive connections. */
    public record Settings(URI base, Path modelDir, double rate, int concurrency, int connections, double seconds,
                           double warmupSeconds, int candidates, int history, Shape shape, long seed, Duration timeout) {
    }

    /** Latencies in nanoseconds, of the timed answered requests (200) and of the timed 503s. */
    public record Result(Settings settings, long ok, long rejected, long errors, long mismatches, Histogram okLatency,
                         Histogram rejectedLatency, double timedSeconds, Set<Long> versions, String firstError) {
        public double throughput() {
            return okLatency.getTotalCount() / timedSeconds;
        }

        public String json() {
            return String.format(Locale.ROOT, "{\"url\": \"%s\", \"shape\": \"%s\", \"candidates\": %d, \"offered_rps\": %s, "
                            + "\"concurrency\": %d, \"connections\": %d, \"seconds\": %.1f, \"throughput_rps\": %.1f, \"ok\": %d, \"rejected\": %d, "
                            + "\"errors\": %d, \"mismatches\": %d, \"p50_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f, "
                            + "\"max_us\": %.1f, \"rejected_p99_us\": %.1f, \"versions\": %s, \"first_error\": %s}",
                    settings.base(), settings.shape().label(), settings.candidates(),
                    settings.rate() > 0 ? String.format(Locale.ROOT, "%.1f", settings.rate()) : "null", settings.concurrency(),
                    settings.connections(),
                    timedSeconds, throughput(), ok, rejected, errors, mismatches, us(okLatency, 50), us(okLatency, 99),
                    us(okLatency, 99.9), okLatency.getMaxValue() / 1e3, us(rejectedLatency, 99), versions,
                    firstError == null ? "null" : TarqServer.quote(firstError));
        }

        public String text() {
            String load = settings.rate() > 0 ? String.format(Locale.ROOT, "offered %.0f req/s", settings.rate())
                    : "concurrency " + settings.concurrency();
            return String.format(Locale.ROOT, "%s%s, %s, M = %d, %.0f s timed: %.1f answers/s%n"
                            + "latency of answers (from the due send time): p50 %.1f µs, p99 %.1f µs, p99.9 %.1f µs, max %.1f µs%n"
                            + "%d answered, %d refused (503), %d errors, %d mismatches; versions seen %s%s",
                    settings.base(), settings.shape().endpoint(), load, settings.candidates(), timedSeconds, throughput(),
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
    private final HttpClient client;
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
    /**
     * Open loop, a request waits for one of these from its due time (the wait counts in its latency). Without a bound
     * an overloaded server would see a new TCP connection for every request late by a service time, and what the run
     * measured would be the server's accept backlog, not its answers; real callers pool their connections.
     */
    private final Semaphore connections;

    private LoadGenerator(Settings settings, HttpClient client, List<RequestLine> requests, ExpectedAnswers expected) {
        this.settings = settings;
        this.client = client;
        this.expected = expected;
        this.connections = new Semaphore(settings.connections(), true);
        this.bodies = requests.stream().map(r -> ExpectedAnswers.body(r, settings.shape())).toArray(String[]::new);
    }

    /** Asks the server which version and item vectors it serves, draws the requests from that version, and runs. */
    public static Result run(Settings settings) throws IOException, InterruptedException {
        // An HTTP/1.1 server may close an idle keep-alive connection just as the client reuses it; the JDK client
        // retries that only for GET unless told to. Scoring is idempotent, so a POST retried there is the same request.
        if (System.getProperty("jdk.httpclient.enableAllMethodRetry") == null) {
            System.setProperty("jdk.httpclient.enableAllMethodRetry", "true");
        }
        try (HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build()) {
            return run(settings, client);
        }
    }

    private static Result run(Settings settings, HttpClient client) throws IOException, InterruptedException {
        HttpResponse<String> model = client.send(HttpRequest.newBuilder(settings.base().resolve("/v1/model")).GET()
                .timeout(settings.timeout()).build(), HttpResponse.BodyHandlers.ofString());
        Matcher version = VERSION.matcher(model.body());
        Matcher vectors = ITEM_VECTORS.matcher(model.body());
        if (model.statusCode() != 200 || !version.find() || !vectors.find()) {
            throw new IOException(settings.base() + "/v1/model answered " + model.statusCode() + ", not a tarq model description");
        }
        ModelDirectory directory = new ModelDirectory(settings.modelDir());
        ItemVectors itemVectors = ItemVectors.fromCliName(vectors.group(1));
        List<RequestLine> requests;
        try (TarqModel served = TarqModel.open(directory.modelFile(Long.parseLong(version.group(1))), itemVectors)) {
            requests = InterleavedLatency.randomRequests(served, settings.candidates(), settings.history(),
                    settings.seed());
        }
        ExpectedAnswers expected = new ExpectedAnswers(directory, itemVectors, requests, settings.shape());
        expected.text(Long.parseLong(version.group(1)), 0); // scored now, not while the schedule runs
        return new LoadGenerator(settings, client, requests, expected).run();
    }

    private Result run() throws InterruptedException {
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
        long timedFrom = start + (long) (settings.warmupSeconds() * 1e9);
        long end = start + (long) ((settings.warmupSeconds() + settings.seconds()) * 1e9);
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            if (settings.rate() > 0) {
                double periodNanos = 1e9 / settings.rate();
                for (long i = 0; ; i++) {
                    long due = start + (long) (i * periodNanos);
                    if (due >= end) {
                        break;
                    }
                    long wait;
                    while ((wait = due - System.nanoTime()) > 0) {
                        LockSupport.parkNanos(wait);
                    }
                    int index = (int) (i % bodies.length);
                    threads.execute(() -> send(index, due, due >= timedFrom));
                }
            } else {
                for (int c = 0; c < settings.concurrency(); c++) {
                    int client = c;
                    threads.execute(() -> {
                        for (long i = client; ; i += settings.concurrency()) {
                            long due = System.nanoTime();
                            if (due >= end) {
                                return;
                            }
                            send((int) (i % bodies.length), due, due >= timedFrom);
                        }
                    });
                }
            }
        } // close() waits for every request: each ends by its timeout at the latest
        return new Result(settings, ok.get(), rejected.get(), errors.get(), mismatches.get(), okLatency.copy(),
                rejectedLatency.copy(), settings.seconds(), new TreeSet<>(versions), firstError.get());
    }

    private void send(int index, long due, boolean timed) {
        HttpRequest request = HttpRequest.newBuilder(settings.base().resolve(settings.shape().endpoint()))
                .timeout(settings.timeout()).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(bodies[index])).build();
        HttpResponse<String> response;
        try {
            connections.acquire();
            try {
                response = client.send(request, HttpResponse.BodyHandlers.ofString());
            } finally {
                connections.release();
            }
        } catch (IOException e) {
            error("request failed: " + e);
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error("interrupted");
            return;
        }
        long latency = System.nanoTime() - due;
        switch (response.statusCode()) {
            case 200 -> {
                if (timed) {
                    okLatency.recordValue(Math.min(latency, okLatency.getHighestTrackableValue()));
                }
                ok.incrementAndGet();
                String body = response.body();
                long version = ExpectedAnswers.versionOf(body);
                if (version < 0) {
                    error("unreadable answer: " + body.lines().findFirst().orElse(""));
                    return;
                }
                versions.add(version);
                String want;
                try {
                    want = expected.text(version, index);
                } catch (RuntimeException e) {
                    error("cannot score version " + version + " in process: " + e.getMessage());
                    return;
                }
                if (!want.equals(body)) {
                    mismatches.incrementAndGet();
                    firstError.compareAndSet(null, "version " + version + " answered request " + index
                            + " differently from the same version in process");
                }
            }
            case 503 -> {
                if (timed) {
                    rejectedLatency.recordValue(Math.min(latency, rejectedLatency.getHighestTrackableValue()));
                }
                rejected.incrementAndGet();
            }
            default -> error("HTTP " + response.statusCode() + ": " + response.body().strip());
        }
    }

    private void error(String message) {
        errors.incrementAndGet();
        firstError.compareAndSet(null, message);
    }
}
