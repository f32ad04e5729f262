package io.tarq.tools;

import io.tarq.engine.Mode;
import io.tarq.engine.RequestLimits;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.layout.TarqDimensions;
import io.tarq.layout.TarqTensors;
import io.tarq.layout.safetensors.TensorView;
import io.tarq.tools.jsonl.RequestLine;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongConsumer;
import org.HdrHistogram.Histogram;

/**
 * Per-request latency of several modes on the same requests, interleaved: each thread has its own scorer and runs
 * every mode on each request in turn (starting from a different mode on each request, since the first to touch a request's
 * candidates warms the caches for the others), so a slow phase of the machine hits all modes alike. The first fifth of the time
 * warms up and is not recorded. Shared by {@code bench} and {@code demo}.
 */
public final class InterleavedLatency {
    private static final int REQUEST_POOL = 64;

    private InterleavedLatency() {}

    /** {@value #REQUEST_POOL} random requests: a random user, n random behaviours and M random candidates. */
    public static List<RequestLine> randomRequests(TarqModel tarq, int candidates, int history, long seed) {
        TarqDimensions dims = tarq.dimensions();
        TensorView itemIds = tarq.file().tensor(TarqTensors.ITEM_IDS);
        TensorView userIds = tarq.file().tensor(TarqTensors.USER_IDS);
        SplittableRandom random = new SplittableRandom(seed);
        List<RequestLine> out = new ArrayList<>();
        for (int r = 0; r < REQUEST_POOL; r++) {
            long[] h = new long[history];
            for (int i = 0; i < h.length; i++) {
                h[i] = itemIds.getLong(random.nextInt(dims.items()));
            }
            long[] c = new long[candidates];
            for (int i = 0; i < c.length; i++) {
                c[i] = itemIds.getLong(random.nextInt(dims.items()));
            }
            out.add(new RequestLine(userIds.getLong(random.nextInt(dims.users())), h, c));
        }
        return out;
    }

    /**
     * Runs {@code threads} threads for {@code seconds}; one histogram (nanoseconds) per mode. {@code progress} is told
     * the elapsed milliseconds about ten times a second, from the calling thread.
     */
    public static Histogram[] run(TarqModel tarq, List<RequestLine> requests, Mode[] modes, double seconds, int threads,
                                  RequestLimits limits, LongConsumer progress) throws InterruptedException, ExecutionException {
        long warmupNanos = (long) (seconds * 0.2e9);
        long endNanos = (long) (seconds * 1e9);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<Histogram[]>> futures = new ArrayList<>();
        long start = System.nanoTime();
        try {
            for (int t = 0; t < threads; t++) {
                int offset = t;
                futures.add(pool.submit(() -> runThread(tarq.newScorer().limits(limits), requests, modes, start,
                        warmupNanos, endNanos, offset)));
            }
            while (!futures.stream().allMatch(Future::isDone)) {
                progress.accept(Math.min((System.nanoTime() - start) / 1_000_000, endNanos / 1_000_000));
                Thread.sleep(100);
            }
            Histogram[] merged = new Histogram[modes.length];
            for (int m = 0; m < modes.length; m++) {
                merged[m] = new Histogram(3);
            }
            for (Future<Histogram[]> f : futures) {
                Histogram[] h = f.get();
                for (int m = 0; m < modes.length; m++) {
                    merged[m].add(h[m]);
                }
            }
            progress.accept(endNanos / 1_000_000);
            return merged;
        } finally {
            pool.shutdownNow();
        }
    }

    private static Histogram[] runThread(Scorer scorer, List<RequestLine> requests, Mode[] modes, long start,
                                         long warmupNanos, long endNanos, int offset) {
        Histogram[] histograms = new Histogram[modes.length];
        for (int m = 0; m < modes.length; m++) {
            histograms[m] = new Histogram(3);
        }
        float[] out = new float[requests.getFirst().candidates().length];
        for (long i = offset; ; i++) {
            long now = System.nanoTime();
            if (now - start >= endNanos) {
                return histograms;
            }
            RequestLine request = requests.get((int) (i % requests.size()));
            // The first mode to touch a request's candidates pays their cache misses and warms them for the rest:
            // rotate which mode goes first, so that each pays equally often.
            for (int k = 0; k < modes.length; k++) {
                int m = (int) ((i + k) % modes.length);
                long begin = System.nanoTime();
                scorer.score(modes[m], request.user(), request.history(), request.candidates(), out);
                long elapsed = System.nanoTime() - begin;
                if (begin - start >= warmupNanos) {
                    histograms[m].recordValue(Math.max(1, elapsed));
                }
            }
        }
    }
}
