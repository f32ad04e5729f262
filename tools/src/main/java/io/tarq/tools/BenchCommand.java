package io.tarq.tools;

import io.tarq.engine.Mode;
import io.tarq.engine.RequestLimits;
import io.tarq.engine.TarqModel;
import io.tarq.engine.TarqRuntime;
import io.tarq.layout.TarqDimensions;
import io.tarq.tools.jsonl.RequestLine;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Per-request latency of every mode on the same random requests, the modes interleaved in one run.",
                "Each thread has its own scorer and cycles tt, tarq, tarq-f32, ta on each request in turn; the first "
                        + "fifth of the time warms up and is not recorded. requests_per_s is what the threads would "
                        + "sustain on that mode alone: threads / mean latency.",
                "This is a quick look; docs/benchmarks.md has the JMH figures."})
final class BenchCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "The model file (.safetensors).")
    Path model;

    @Option(names = "--candidates", paramLabel = "M", defaultValue = "5000", description = "Candidates a request (default: ${DEFAULT-VALUE}).")
    int candidates;

    @Option(names = "--history", paramLabel = "n", defaultValue = "50", description = "Behaviours a request (default: ${DEFAULT-VALUE}).")
    int history;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "10", description = "Run time, warm-up included (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--threads", paramLabel = "T", defaultValue = "1", description = "Request threads (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of the random requests (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object instead of a table (default: ${DEFAULT-VALUE}).")
    boolean json;

    @Mixin
    LimitOptions limitOptions;

    @Mixin
    ItemVectorsOption itemVectorsOption;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (candidates < 1 || history < 0 || threads < 1 || !(seconds > 0)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--candidates and --threads must be at least 1, --history at least 0, --seconds positive");
        }
        RequestLimits limits = limitOptions.limits(spec);
        if (candidates > limits.maxCandidates() || history > limits.maxHistory()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--candidates " + candidates + " or --history "
                    + history + " is over the request limits (--max-candidates " + limits.maxCandidates() + ", --max-history "
                    + limits.maxHistory() + ")");
        }
        try (TarqModel tarq = TarqModel.open(model, itemVectorsOption.itemVectors(spec))) {
            List<RequestLine> requests = InterleavedLatency.randomRequests(tarq, candidates, history, seed);
            Mode[] modes = Mode.values();
            Histogram[] histograms = InterleavedLatency.run(tarq, requests, modes, seconds, threads, limits, elapsed -> {});
            report(tarq, modes, histograms);
        }
        return TarqCli.EXIT_OK;
    }

    private void report(TarqModel tarq, Mode[] modes, Histogram[] histograms) {
        var out = spec.commandLine().getOut();
        if (json) {
            StringBuilder s = new StringBuilder("{\"implementation\": \"" + tarq.kernelName() + "\", \"modes\": {");
            for (int m = 0; m < modes.length; m++) {
                Histogram h = histograms[m];
                s.append(m == 0 ? "" : ", ").append('"').append(modes[m].cliName()).append("\": ").append(String.format(Locale.ROOT,
                        "{\"p50_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f, \"requests_per_s\": %.1f, \"requests\": %d}",
                        h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3,
                        perSecond(h), h.getTotalCount()));
            }
            out.println(s.append("}, \"item_vectors\": \"").append(tarq.itemVectors().cliName()).append("\"}"));
            return;
        }
        TarqDimensions dims = tarq.dimensions();
        out.printf(Locale.ROOT, "%s: N = %s items, M = %d candidates, n = %d behaviours, %d thread(s), %.0f s%n", model,
                Formats.count(dims.items()), candidates, history, threads, seconds);
        out.printf("kernels: %s; item vectors: %s%n", TarqRuntime.kernels(), tarq.itemVectors().cliName());
        out.printf("%-9s %10s %10s %10s %12s %10s%n", "mode", "p50 µs", "p99 µs", "p99.9 µs", "requests/s", "samples");
        for (int m = 0; m < modes.length; m++) {
            Histogram h = histograms[m];
            out.printf(Locale.ROOT, "%-9s %10.1f %10.1f %10.1f %12.0f %10d%n", modes[m].cliName(),
                    h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3,
                    perSecond(h), h.getTotalCount());
        }
    }

    private double perSecond(Histogram h) {
        return h.getTotalCount() == 0 ? 0 : threads * 1e9 / h.getMean();
    }
}
