package io.tarq.tools;

import io.tarq.tools.soak.Soak;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "soak", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Hot swap under load: request threads score random requests through one engine while the two "
                + "model versions are swapped in turn, and every tenth swap a broken copy of MODEL_A (truncated, absurd "
                + "header length, NaN weight) that must be rejected.",
                "Every response is compared bit for bit with what the version that served it gives single-threaded. "
                        + "Exit 0 when there was no error, no mismatch, and every model was closed and unmapped at the end; "
                        + "1 otherwise, naming the first fault on stderr."})
final class SoakCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL_A", description = "The first version (.safetensors), served first.")
    Path a;

    @Parameters(index = "1", paramLabel = "MODEL_B", description = "The second version; must share item ids with MODEL_A.")
    Path b;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "30", description = "Run time (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--threads", paramLabel = "T", defaultValue = "2", description = "Request threads (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--swap-every-ms", paramLabel = "X", defaultValue = "100",
            description = "Time between swaps, in milliseconds (default: ${DEFAULT-VALUE}).")
    long swapEveryMs;

    @Option(names = "--candidates", paramLabel = "M", defaultValue = "500", description = "Candidates a request (default: ${DEFAULT-VALUE}).")
    int candidates;

    @Option(names = "--history", paramLabel = "n", defaultValue = "30", description = "Behaviours a request (default: ${DEFAULT-VALUE}).")
    int history;

    @Option(names = "--requests", paramLabel = "R", defaultValue = "64",
            description = "Distinct random requests, each answered by both versions up front (default: ${DEFAULT-VALUE}).")
    int requestPool;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of the random requests (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object instead of a table (default: ${DEFAULT-VALUE}).")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!(seconds > 0) || threads < 1 || swapEveryMs < 1 || candidates < 1 || history < 1 || requestPool < 1) {
            throw new ParameterException(spec.commandLine(), "--seconds must be positive; --threads, --swap-every-ms, "
                    + "--candidates, --history and --requests at least 1");
        }
        Path scratch = Files.createTempDirectory("tarq-soak");
        Soak.Report report;
        try {
            report = Soak.run(new Soak.Settings(a, b, seconds, threads, swapEveryMs, candidates, history, requestPool, seed), scratch);
        } finally {
            try (Stream<Path> files = Files.walk(scratch)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        var out = spec.commandLine().getOut();
        if (json) {
            out.println(report.toJson());
        } else {
            out.printf(Locale.ROOT, "soak %s <-> %s: %.1f s, %d thread(s), a swap every %d ms%n", a, b, report.seconds(), threads, swapEveryMs);
            out.printf(Locale.ROOT, "requests %,d (p99 %.1f us), errors %d, mismatches %d%n", report.requests(), report.p99Us(),
                    report.errors(), report.mismatches());
            out.printf(Locale.ROOT, "swaps %d accepted, %d rejected; mapped bytes %,d before, %,d after (peak %,d); models open after: %d%n",
                    report.swaps(), report.rejectedSwaps(), report.mappedBytesBefore(), report.mappedBytesAfter(),
                    report.mappedBytesPeak(), report.liveModelsAfter());
        }
        if (!report.clean()) {
            spec.commandLine().getErr().println("tarq soak: " + (report.firstError() != null ? report.firstError()
                    : "models left open or mapped after the engine closed"));
            return TarqCli.EXIT_FAULT;
        }
        return TarqCli.EXIT_OK;
    }
}
