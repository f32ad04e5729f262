package io.tarq.tools.demo;

import io.tarq.engine.Mode;
import io.tarq.engine.RequestLimits;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.engine.TarqRuntime;
import io.tarq.layout.ModelFormatException;
import io.tarq.layout.TarqDimensions;
import io.tarq.tools.InterleavedLatency;
import io.tarq.tools.TarqCli;
import io.tarq.tools.jsonl.RequestLine;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code ./tarq demo}: what TARQ does and how fast this engine does it, on the embedded trained model: quality on its
 * held-out events, agreement with exact TA, latency of every mode, and the same latency on a large catalog.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Quality, agreement and latency of TT, TARQ and exact TA on a trained model; writes an HTML report.",
                "The launcher passes the embedded model (demo/) and the output directory."})
public final class DemoCommand implements Callable<Integer> {
    private static final Mode[] MODES = {Mode.TT, Mode.TARQ, Mode.TARQ_F32, Mode.TA};
    private static final int TOP = 100;

    @Option(names = "--model", paramLabel = "MODEL", required = true, description = "The trained model file.")
    Path model;

    @Option(names = "--events", paramLabel = "EVENTS", required = true,
            description = "Its held-out events (the trainer's --events-out).")
    Path eventsPath;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "target/tarq-demo",
            description = "Where report.html and the large catalog go (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--candidates", paramLabel = "M", defaultValue = "5000",
            description = "Candidates a request in the agreement and latency runs (default: ${DEFAULT-VALUE}).")
    int candidates;

    @Option(names = "--history", paramLabel = "n", defaultValue = "50",
            description = "Behaviours a request in the latency runs (default: ${DEFAULT-VALUE}).")
    int history;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "8",
            description = "Seconds of each latency run, warm-up included (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--catalog", paramLabel = "N", defaultValue = "1000000",
            description = "Items of the large catalog; 0 skips that run (default: ${DEFAULT-VALUE}).")
    int catalog;

    @Option(names = "--requests", paramLabel = "R", defaultValue = "100",
            description = "Requests in the TARQ-vs-TA agreement run (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--seed", defaultValue = "7", description = "Seed of the random requests (default: ${DEFAULT-VALUE}).")
    long seed;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (candidates < 1 || history < 0 || !(seconds > 0) || catalog < 0 || requests < 1) {
            throw new ParameterException(spec.commandLine(), "--candidates and --requests must be at least 1, "
                    + "--history and --catalog at least 0, --seconds positive");
        }
        PrintWriter o = spec.commandLine().getOut();
        Files.createDirectories(out);
        DemoReport report = new DemoReport();
        try (TarqModel tarq = TarqModel.open(model)) {
            TarqDimensions dims = tarq.dimensions();
            Events events = Events.read(eventsPath);
            report.model(model, tarq.file().producer(), dims, tarq.file().metadata().get("dataset"));
            report.kernels(TarqRuntime.kernels());
            o.printf(Locale.ROOT, "TARQ demo: %s%n  %s%n  N = %s items, U = %s users, d = %d, L = %d levels × K = %d codewords%n",
                    model, tarq.file().producer(), String.format(Locale.ROOT, "%,d", dims.items()),
                    String.format(Locale.ROOT, "%,d", dims.users()), dims.d(), dims.levels(), dims.codebookSize());
            o.printf("  kernels: %s%n%n", TarqRuntime.kernels());

            quality(tarq, events, report, o);
            agreement(tarq, events, report, o);
            Histogram[] small = latency(tarq, candidates, "trained catalog", o);
            report.latency("trained catalog, N = " + String.format(Locale.ROOT, "%,d", dims.items()), MODES, small);
            if (catalog > 0) {
                Path big = out.resolve("catalog-" + catalog + "-of-" + model.getFileName());
                if (!Files.exists(big) || Files.getLastModifiedTime(big).compareTo(Files.getLastModifiedTime(model)) < 0) {
                    grow(tarq, big, o);
                }
                TarqModel opened;
                try {
                    opened = TarqModel.open(big);
                } catch (ModelFormatException e) { // a cache written by another version of the demo: grow it again
                    o.printf(Locale.ROOT, "%nThe cached catalog is not valid (%s)%n", e.getMessage());
                    grow(tarq, big, o);
                    opened = TarqModel.open(big);
                }
                try (TarqModel large = opened) {
                    Histogram[] h = latency(large, candidates, String.format(Locale.ROOT, "catalog of %,d items", catalog), o);
                    report.latency(String.format(Locale.ROOT, "grown catalog, N = %,d", catalog), MODES, h);
                }
            }
        }
        Path html = out.resolve("report.html");
        report.writeHtml(html);
        o.printf("%nReport: %s%n", html);
        return TarqCli.EXIT_OK;
    }

    private void grow(TarqModel tarq, Path big, PrintWriter o) throws IOException {
        o.printf(Locale.ROOT, "%nGrowing the catalog to %,d items (the model's codebooks code every new item; cached in %s) ...%n",
                catalog, big);
        long t0 = System.nanoTime();
        LargeCatalog.write(tarq.file(), catalog, seed, big);
        o.printf(Locale.ROOT, "  done in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    /** AUC and GAUC of every mode over the held-out events (1 click and its sampled negatives per request). */
    private void quality(TarqModel tarq, Events events, DemoReport report, PrintWriter o) {
        int e = events.size(), c = events.perRequest();
        float[][] scores = new float[MODES.length][e * c];
        Scorer scorer = tarq.newScorer();
        float[] row = new float[c];
        try (ProgressBar bar = bar("held-out events", e)) {
            for (int r = 0; r < e; r++) {
                long[] h = events.history(r), cand = events.candidates(r);
                for (int m = 0; m < MODES.length; m++) {
                    scorer.score(MODES[m], events.users()[r], h, cand, row);
                    System.arraycopy(row, 0, scores[m], r * c, c);
                }
                bar.step();
            }
        }
        o.printf(Locale.ROOT, "Quality on %,d held-out events (each: the user's next click and %d sampled negatives)%n", e, c - 1);
        o.printf("  %-9s %8s %8s%n", "mode", "AUC", "GAUC");
        for (int m = 0; m < MODES.length; m++) {
            double auc = RankingMetrics.auc(scores[m], events.labels());
            double gauc = RankingMetrics.gauc(scores[m], events.labels(), c);
            report.quality(MODES[m].cliName(), auc, gauc);
            o.printf(Locale.ROOT, "  %-9s %8.4f %8.4f%n", MODES[m].cliName(), auc, gauc);
        }
        o.println("  (tt is the TARQ model's own two-tower score; the trainer's metrics file has the separate TT baseline)");
    }

    /**
     * How closely TARQ (uint8 tables) ranks like exact TA on large requests of random candidates: for held-out users
     * with their real histories (what a server sees), and for random histories (a stress test: behaviours drawn from
     * the whole catalog, unlike any user's).
     */
    private void agreement(TarqModel tarq, Events events, DemoReport report, PrintWriter o) {
        int m = Math.min(candidates, tarq.dimensions().items());
        List<RequestLine> randomHistories = InterleavedLatency.randomRequests(tarq, m, history, seed);
        SplittableRandom random = new SplittableRandom(seed);
        Agreement real = agreement(tarq, m, random, "TARQ vs exact TA, held-out users",
                () -> {
                    int e = random.nextInt(events.size());
                    return new RequestLine(events.users()[e], events.history(e), null);
                });
        Agreement stress = agreement(tarq, m, random, "TARQ vs exact TA, random histories",
                () -> randomHistories.get(random.nextInt(randomHistories.size())));
        report.agreement(requests, m, TOP, real.recall, real.spearman, real.uint8Recall, stress.recall, stress.spearman);
        o.printf(Locale.ROOT, "%nTARQ vs exact TA on %d requests of %,d distinct random candidates:%n"
                        + "  held-out users' histories: recall of TA's top-%d in TARQ's top-%d: %.3f   Spearman: %.3f%n"
                        + "  random histories (stress): recall of TA's top-%d in TARQ's top-%d: %.3f   Spearman: %.3f%n"
                        + "  uint8 tables against float tables: recall of tarq-f32's top-%d in tarq's: %.3f%n",
                requests, m, TOP, TOP, real.recall, real.spearman, TOP, TOP, stress.recall, stress.spearman, TOP,
                real.uint8Recall);
    }

    private record Agreement(double recall, double spearman, double uint8Recall) {
    }

    private Agreement agreement(TarqModel tarq, int m, SplittableRandom random, String title,
                                java.util.function.Supplier<RequestLine> request) {
        Scorer scorer = tarq.newScorer();
        float[] ta = new float[m], tarqScores = new float[m], floatTables = new float[m];
        double recall = 0, spearman = 0, uint8Recall = 0;
        try (ProgressBar bar = bar(title, requests)) {
            for (int r = 0; r < requests; r++) {
                RequestLine q = request.get();
                long[] distinct = distinctCandidates(tarq, m, random);
                scorer.score(Mode.TA, q.user(), q.history(), distinct, ta);
                scorer.score(Mode.TARQ, q.user(), q.history(), distinct, tarqScores);
                scorer.score(Mode.TARQ_F32, q.user(), q.history(), distinct, floatTables);
                recall += RankingMetrics.topKRecall(tarqScores, ta, m, TOP);
                uint8Recall += RankingMetrics.topKRecall(tarqScores, floatTables, m, TOP);
                spearman += RankingMetrics.spearman(tarqScores, ta, m);
                bar.step();
            }
        }
        return new Agreement(recall / requests, spearman / requests, uint8Recall / requests);
    }

    private static long[] distinctCandidates(TarqModel tarq, int m, SplittableRandom random) {
        var ids = tarq.file().tensor(io.tarq.layout.TarqTensors.ITEM_IDS);
        int n = tarq.dimensions().items();
        int[] rows = new int[n];
        for (int i = 0; i < n; i++) {
            rows[i] = i;
        }
        long[] out = new long[m];
        for (int i = 0; i < m; i++) { // a partial Fisher-Yates shuffle: m distinct rows
            int j = i + random.nextInt(n - i);
            int t = rows[i];
            rows[i] = rows[j];
            rows[j] = t;
            out[i] = ids.getLong(rows[i]);
        }
        return out;
    }

    private Histogram[] latency(TarqModel tarq, int m, String what, PrintWriter o) throws Exception {
        List<RequestLine> pool = InterleavedLatency.randomRequests(tarq, m, history, seed);
        Histogram[] h;
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName("latency").setInitialMax((long) (seconds * 1000))
                .setStyle(ProgressBarStyle.ASCII).setUnit(" s", 1000).setUpdateIntervalMillis(200)
                .setConsumer(new ConsoleProgressBarConsumer(System.err)).hideEta().build()) {
            h = InterleavedLatency.run(tarq, pool, MODES, seconds, 1, RequestLimits.DEFAULT, bar::stepTo);
        }
        o.printf(Locale.ROOT, "%nLatency a request on the %s: M = %,d candidates, n = %d behaviours, 1 thread, %.0f s, modes interleaved%n",
                what, m, history, seconds);
        o.printf("  %-9s %10s %10s %10s %12s%n", "mode", "p50 µs", "p99 µs", "p99.9 µs", "requests/s");
        for (int i = 0; i < MODES.length; i++) {
            o.printf(Locale.ROOT, "  %-9s %10.1f %10.1f %10.1f %12.0f%n", MODES[i].cliName(),
                    h[i].getValueAtPercentile(50) / 1e3, h[i].getValueAtPercentile(99) / 1e3,
                    h[i].getValueAtPercentile(99.9) / 1e3, h[i].getTotalCount() == 0 ? 0 : 1e9 / h[i].getMean());
        }
        return h;
    }

    private static ProgressBar bar(String task, long max) {
        return new ProgressBarBuilder().setTaskName(task).setInitialMax(max).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(200).setConsumer(new ConsoleProgressBarConsumer(System.err)).build();
    }
}
