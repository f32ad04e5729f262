package io.tarq.tools.serve;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * The server's counters, written in the Prometheus text format (version 0.0.4). Latency is kept per label in an
 * HdrHistogram (recording is wait-free), whose cumulative counts at the bucket bounds become the Prometheus
 * histogram at scrape time; its 2 significant digits put a value within 1% of a bound on either side of it.
 */
final class ServerMetrics {
    /** Why a request was not answered with scores; each kind is one {@code tarq_errors_total} series. */
    enum ErrorKind {
        BAD_REQUEST, OVER_LIMIT, UNKNOWN_CANDIDATE, OVERLOADED, NOT_FOUND, METHOD_NOT_ALLOWED, NOT_ACCEPTABLE, INTERNAL;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Bucket upper bounds in seconds: 100 µs to 2.5 s, where a pre-ranking request's latency can land. */
    private static final double[] BUCKETS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
            0.25, 0.5, 1, 2.5};
    /** The labels of {@code tarq_request_duration_seconds}: the modes, the cascade, and batches (one body, many requests). */
    static final String[] LABELS = {"tt", "tarq", "tarq-f32", "ta", "cascade", "batch"};

    private record Series(LongAdder requests, Histogram latencyNanos, LongAdder sumNanos) {
    }

    private final Map<String, Series> byLabel = new LinkedHashMap<>();
    private final Map<ErrorKind, LongAdder> errors = new EnumMap<>(ErrorKind.class);

    ServerMetrics() {
        for (String label : LABELS) {
            byLabel.put(label, new Series(new LongAdder(), new ConcurrentHistogram(TimeUnit.MINUTES.toNanos(10), 2), new LongAdder()));
        }
        for (ErrorKind kind : ErrorKind.values()) {
            errors.put(kind, new LongAdder());
        }
    }

    /** One request scored under {@code label}; its latency is recorded by {@link #latency} for the HTTP request. */
    void scored(String label) {
        byLabel.get(label).requests().increment();
    }

    /** The time one answered HTTP request took, from its handler's start to the last byte written. */
    void latency(String label, long nanos) {
        Series s = byLabel.get(label);
        s.latencyNanos().recordValue(Math.min(Math.max(nanos, 0), s.latencyNanos().getHighestTrackableValue()));
        s.sumNanos().add(nanos);
    }

    void error(ErrorKind kind) {
        errors.get(kind).increment();
    }

    /** The gauges and counters that live elsewhere (engine, reloader, admission), read at scrape time. */
    record Snapshot(long version, long swaps, long rejectedVersions, long engineRejectedSwaps, int liveVersions,
                    int inflight, int maxInflight, boolean ready) {
    }

    String prometheus(Snapshot s) {
        StringBuilder out = new StringBuilder(4096);
        header(out, "tarq_requests_total", "counter", "Requests scored, by mode (cascade: TARQ then TA on the best k').");
        for (var e : byLabel.entrySet()) {
            if (!e.getKey().equals("batch")) {
                out.append("tarq_requests_total{mode=\"").append(e.getKey()).append("\"} ").append(e.getValue().requests().sum()).append('\n');
            }
        }
        header(out, "tarq_request_duration_seconds", "histogram",
                "Time from a request's handler start to its answer's last byte, by mode; batch: a body of several requests.");
        for (var e : byLabel.entrySet()) {
            Histogram h = e.getValue().latencyNanos().copy();
            String label = "mode=\"" + e.getKey() + "\"";
            for (double bound : BUCKETS) {
                long count = h.getCountBetweenValues(0, (long) (bound * 1e9));
                out.append("tarq_request_duration_seconds_bucket{").append(label).append(",le=\"").append(bound).append("\"} ")
                        .append(count).append('\n');
            }
            out.append("tarq_request_duration_seconds_bucket{").append(label).append(",le=\"+Inf\"} ").append(h.getTotalCount()).append('\n');
            out.append("tarq_request_duration_seconds_sum{").append(label).append("} ")
                    .append(String.format(Locale.ROOT, "%.9f", e.getValue().sumNanos().sum() / 1e9)).append('\n');
            out.append("tarq_request_duration_seconds_count{").append(label).append("} ").append(h.getTotalCount()).append('\n');
        }
        header(out, "tarq_errors_total", "counter", "Requests answered without scores, by kind (overloaded: 503 at admission).");
        for (var e : errors.entrySet()) {
            out.append("tarq_errors_total{kind=\"").append(e.getKey().label()).append("\"} ").append(e.getValue().sum()).append('\n');
        }
        gauge(out, "tarq_model_version", "The model version serving new requests (its folder's number).", s.version());
        counter(out, "tarq_swaps_total", "Versions swapped in after checks and warm-up.", s.swaps());
        counter(out, "tarq_rejected_versions_total", "Versions refused: an invalid file or a failed warm-up; the served one kept serving.",
                s.rejectedVersions());
        counter(out, "tarq_engine_rejected_swaps_total", "Swaps the engine refused after the warm-up passed (the file changed meanwhile).",
                s.engineRejectedSwaps());
        gauge(out, "tarq_live_versions", "Versions still open: the served one plus retired ones with requests running.", s.liveVersions());
        gauge(out, "tarq_inflight_requests", "HTTP scoring requests admitted and not yet answered.", s.inflight());
        gauge(out, "tarq_max_inflight", "Admitted requests over which the server answers 503.", s.maxInflight());
        gauge(out, "tarq_ready", "1 when a version is loaded and warmed and the server is not stopping.", s.ready() ? 1 : 0);
        return out.toString();
    }

    private static void header(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void gauge(StringBuilder out, String name, String help, long value) {
        header(out, name, "gauge", help);
        out.append(name).append(' ').append(value).append('\n');
    }

    private static void counter(StringBuilder out, String name, String help, long value) {
        header(out, name, "counter", help);
        out.append(name).append(' ').append(value).append('\n');
    }
}
