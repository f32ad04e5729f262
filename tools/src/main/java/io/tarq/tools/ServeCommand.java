package io.tarq.tools;

import io.tarq.engine.RequestLimits;
import io.tarq.engine.kernel.Kernels;
import io.tarq.tools.serve.TarqServer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve a model directory over HTTP/1.1 JSON (docs/serving.md).",
                "MODEL_DIR/<N>/model.safetensors, N a positive integer: the highest valid version serves; a new one is "
                        + "checked completely and warmed up before it takes traffic, a bad one is logged and skipped.",
                "POST /v1/score, POST /v1/topk, GET /v1/model, GET /ready, GET /metrics, POST /v1/admin/reload.",
                "SIGTERM stops gracefully: no new connections, requests in flight finish, exit 0."})
final class ServeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "The versions' directory.")
    Path modelDir;

    @Option(names = "--port", paramLabel = "P", defaultValue = "8080", description = "TCP port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--host", paramLabel = "H", defaultValue = "127.0.0.1",
            description = "Address to bind; loopback unless told otherwise (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--threads", paramLabel = "T", description = "Requests scored at once (default: the core count).")
    Integer threads;

    @Option(names = "--max-inflight", paramLabel = "N",
            description = "Requests admitted at once, scoring or waiting; more get 503 with Retry-After (default: 4 x threads).")
    Integer maxInflight;

    @Option(names = "--max-batch", paramLabel = "B", defaultValue = "64", description = "Requests a body may hold (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--warmup-requests", paramLabel = "W", defaultValue = "300",
            description = "Synthetic requests run on each version before it serves; at start, 4 x W more sent through the "
                    + "server's own HTTP path before /ready answers 200 (default: ${DEFAULT-VALUE}; 0: neither).")
    int warmupRequests;

    @Option(names = "--poll-ms", paramLabel = "MS", defaultValue = "1000",
            description = "Look for new versions at least this often, besides directory events; 0: only on POST /v1/admin/reload "
                    + "(default: ${DEFAULT-VALUE}).")
    long pollMillis;

    @Option(names = "--drain-seconds", paramLabel = "S", defaultValue = "10",
            description = "On SIGTERM, wait at most this long for requests in flight (default: ${DEFAULT-VALUE}).")
    int drainSeconds;

    @Mixin
    LimitOptions limitOptions;

    @Mixin
    ItemVectorsOption itemVectorsOption;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        int t = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        int inflight = maxInflight == null ? 4 * t : maxInflight;
        if (t < 1 || inflight < 1 || maxBatch < 1 || warmupRequests < 0 || drainSeconds < 0 || port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--threads, --max-inflight and --max-batch must be at least 1; "
                    + "--warmup-requests and --drain-seconds at least 0; --port in 0..65535");
        }
        RequestLimits limits = limitOptions.limits(spec);
        PrintWriter err = spec.commandLine().getErr();
        TarqServer server = TarqServer.start(new TarqServer.Config(modelDir, host, port, t, inflight, maxBatch, limits,
                itemVectorsOption.itemVectors(spec), warmupRequests, pollMillis), line -> {
                    err.println("tarq serve: " + line);
                    err.flush();
                });
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            err.println("tarq serve: stopping: draining requests in flight (at most " + drainSeconds + " s)");
            err.flush();
            server.stop(drainSeconds);
            err.println("tarq serve: stopped");
            err.flush();
            stopped.countDown();
            // A SIGTERM'd JVM exits 143 after its hooks; a graceful stop is a success, so say 0 (the only way the
            // serving process ends is a signal: the main thread waits for ever).
            Runtime.getRuntime().halt(TarqCli.EXIT_OK);
        }, "tarq-serve-shutdown"));
        spec.commandLine().getOut().printf("tarq serve: version %d of %s on http://%s:%d (threads %d, max in-flight %d; kernels %s)%n",
                server.version(), modelDir, host.contains(":") ? "[" + host + "]" : host, server.port(), t, inflight,
                Kernels.describe()); // an IPv6 literal in a URL takes brackets
        spec.commandLine().getOut().flush();
        stopped.await();
        return TarqCli.EXIT_OK;
    }
}
