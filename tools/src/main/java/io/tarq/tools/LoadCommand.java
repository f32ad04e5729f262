package io.tarq.tools;

import io.tarq.engine.Mode;
import io.tarq.tools.serve.LoadGenerator;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "load", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Load a running ./tarq serve and check every answer bit for bit against the same request scored in process.",
                "Open loop with --rate (latency from each request's due send time, so a stall is charged for every request "
                        + "it delays), closed loop with --concurrency (to find the saturation throughput).",
                "Exit code 1 on any error or mismatch; 503s (backpressure) are counted, not errors."})
final class LoadCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "URL", description = "The server, e.g. http://127.0.0.1:8080")
    URI url;

    @Option(names = "--model-dir", required = true, paramLabel = "MODEL_DIR",
            description = "The server's model directory, read to draw requests and to score them in process.")
    Path modelDir;

    static final class Load {
        @Option(names = "--rate", paramLabel = "R", description = "Requests a second, open loop.")
        Double rate;

        @Option(names = "--concurrency", paramLabel = "C", description = "Clients sending back to back, closed loop.")
        Integer concurrency;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Load load;

    @Option(names = "--connections", paramLabel = "N", defaultValue = "64",
            description = "Requests in flight at most, open loop: that many client threads, each with one keep-alive connection; "
                    + "a request that waits for one is late by that wait (default: ${DEFAULT-VALUE}).")
    int connections;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "10", description = "Timed run (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--warmup", paramLabel = "S", defaultValue = "15",
            description = "Untimed run before it, answers checked; the client's JIT compiles its request path during it, "
                    + "which a timed p99 would otherwise carry (default: ${DEFAULT-VALUE}).")
    double warmup;

    @Option(names = "--candidates", paramLabel = "M", defaultValue = "1000", description = "Candidates a request (default: ${DEFAULT-VALUE}).")
    int candidates;

    @Option(names = "--history", paramLabel = "n", defaultValue = "50", description = "Behaviours a request (default: ${DEFAULT-VALUE}).")
    int history;

    @Option(names = "--transport-floor", description = "Send GET /ready on the same schedule instead of scoring: what the "
            + "HTTP exchange alone costs at this load, the floor under every scoring latency.")
    boolean transportFloor;

    @Option(names = "--binary", description = "Ask /v1/score for binary answers (Accept: application/octet-stream: "
            + "little-endian float32 logits) and check them byte for byte.")
    boolean binary;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "tarq", description = "tt, tarq, tarq-f32 or ta (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--k", paramLabel = "K", description = "Ask /v1/topk for the best K instead of /v1/score.")
    Integer k;

    @Option(names = "--rescore", paramLabel = "K'", description = "With --k: the cascade, TARQ keeps K', TA re-scores them.")
    Integer rescore;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of the random requests (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--timeout-ms", paramLabel = "MS", defaultValue = "10000", description = "A request's timeout (default: ${DEFAULT-VALUE}).")
    long timeoutMillis;

    @Option(names = "--json", description = "Print one JSON object instead of text (default: ${DEFAULT-VALUE}).")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        double rate = load == null || load.rate == null ? (load == null ? 100 : 0) : load.rate;
        int concurrency = load == null || load.concurrency == null ? 0 : load.concurrency;
        if (!(seconds > 0) || warmup < 0 || candidates < 1 || history < 0 || timeoutMillis < 1 || (rate <= 0 && concurrency < 1) || connections < 1) {
            throw new ParameterException(spec.commandLine(), "--seconds, --rate, --concurrency, --connections, --candidates and --timeout-ms "
                    + "must be positive, --warmup and --history at least 0");
        }
        if (rescore != null && k == null) {
            throw new ParameterException(spec.commandLine(), "--rescore needs --k");
        }
        if (binary && (k != null || transportFloor)) {
            throw new ParameterException(spec.commandLine(), "--binary asks /v1/score: not with --k or --transport-floor");
        }
        Mode scoring;
        try {
            scoring = Mode.fromCliName(mode);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--mode " + e.getMessage());
        }
        LoadGenerator.Shape shape = transportFloor ? LoadGenerator.Shape.TRANSPORT
                : new LoadGenerator.Shape(scoring, k == null ? -1 : k, rescore == null ? -1 : rescore);
        LoadGenerator.Result result = LoadGenerator.run(new LoadGenerator.Settings(url, modelDir, rate, concurrency,
                Math.max(connections, concurrency), seconds,
                warmup, candidates, history, shape, binary, seed, Duration.ofMillis(timeoutMillis)));
        spec.commandLine().getOut().println(json ? result.json() : result.text());
        if (result.errors() > 0 || result.mismatches() > 0) {
            spec.commandLine().getErr().println("tarq load: " + result.errors() + " errors, " + result.mismatches()
                    + " mismatches; first: " + result.firstError());
            return TarqCli.EXIT_FAULT;
        }
        return TarqCli.EXIT_OK;
    }
}
