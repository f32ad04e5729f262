package io.tarq.tools.soak;

import io.tarq.engine.Mode;
import io.tarq.engine.ModelLease;
import io.tarq.engine.TarqEngine;
import io.tarq.layout.ModelFormatException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * The soak: request threads score random requests through one {@link TarqEngine} while this thread swaps the two
 * versions in turn, and every tenth swap a broken copy of version A (truncated, absurd header length, NaN weight, in
 * turn). Every response is compared bit for bit with the single-threaded answer of the version its lease held; every
 * broken file must be rejected and every valid one accepted. The mapped-bytes figures are taken before the engine
 * opens and after it closes: equal when every version's file was unmapped.
 */
public final class Soak {
    public record Settings(Path a, Path b, double seconds, int threads, long swapEveryMs, int candidates, int history,
                           int requestPool, long seed) {
    }

    public record Report(long requests, long errors, long mismatches, long swaps, long rejectedSwaps, double p99Us,
                         long mappedBytesAfter, long mappedBytesBefore, long mappedBytesPeak, int liveModelsAfter,
                         double seconds, String firstError) {
        public boolean clean() {
            return errors == 0 && mismatches == 0 && liveModelsAfter == 0 && mappedBytesAfter == mappedBytesBefore;
        }

        public String toJson() {
            return String.format(Locale.ROOT, "{\"requests\": %d, \"errors\": %d, \"mismatches\": %d, \"swaps\": %d, "
                            + "\"rejected_swaps\": %d, \"p99_us\": %.1f, \"mapped_bytes_after\": %d, \"mapped_bytes_before\": %d, "
                            + "\"mapped_bytes_peak\": %d, \"live_models_after\": %d, \"seconds\": %.1f}",
                    requests, errors, mismatches, swaps, rejectedSwaps, p99Us, mappedBytesAfter, mappedBytesBefore,
                    mappedBytesPeak, liveModelsAfter, seconds);
        }
    }

    private record WorkerResult(long requests, long errors, long mismatches, Histogram latency, String firstError) {
    }

    private Soak() {
    }

    /** Runs a soak; {@code scratch} receives the broken copies. */
    public static Report run(Settings s, Path scratch) throws IOException, InterruptedException {
        SoakRequests requests = SoakRequests.make(s.a(), s.b(), s.requestPool(), s.candidates(), s.history(), s.seed());
        List<Path> broken = CorruptModels.write(s.a(), scratch);
        long mappedBefore = MappedBytes.now();
        long mappedPeak = mappedBefore;
        long swapErrors = 0;
        String firstSwapError = null;
        TarqEngine engine = TarqEngine.open(s.a());
        ExecutorService pool = Executors.newFixedThreadPool(s.threads());
        long start = System.nanoTime();
        long end = start + (long) (s.seconds() * 1e9);
        long warmup = (long) (s.seconds() * 0.2e9);
        List<Future<WorkerResult>> workers = new ArrayList<>();
        WorkerResult total;
        try {
            for (int t = 0; t < s.threads(); t++) {
                long workerSeed = s.seed() * 31 + t;
                workers.add(pool.submit(() -> work(engine, requests, s, start, warmup, end, workerSeed)));
            }
            boolean nextIsB = true;
            for (long k = 1; ; k++) {
                long at = start + TimeUnit.MILLISECONDS.toNanos(k * s.swapEveryMs());
                if (at >= end) {
                    break;
                }
                TimeUnit.NANOSECONDS.sleep(Math.max(0, at - System.nanoTime()));
                String fault;
                if (k % 10 == 0) {
                    fault = swapBroken(engine, broken.get((int) ((k / 10 - 1) % broken.size())));
                } else {
                    fault = swapValid(engine, nextIsB ? s.b() : s.a());
                    nextIsB = !nextIsB;
                }
                if (fault != null) {
                    swapErrors++;
                    firstSwapError = firstSwapError == null ? fault : firstSwapError;
                }
                mappedPeak = Math.max(mappedPeak, MappedBytes.now());
            }
            total = collect(workers);
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(1, TimeUnit.MINUTES);
            engine.close();
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        String firstError = total.firstError() != null ? total.firstError() : firstSwapError;
        return new Report(total.requests(), total.errors() + swapErrors, total.mismatches(), engine.swaps(),
                engine.rejectedSwaps(), total.latency().getValueAtPercentile(99) / 1e3, MappedBytes.now(), mappedBefore,
                mappedPeak, engine.liveModels(), elapsed, firstError);
    }

    /** Null if the valid file was accepted, else what went wrong. */
    private static String swapValid(TarqEngine engine, Path valid) {
        try {
            engine.swap(valid);
            return null;
        } catch (IOException | RuntimeException e) {
            return "a valid model was rejected: " + e.getMessage();
        }
    }

    /** Null if the broken file was rejected as a model format fault, else what went wrong. */
    private static String swapBroken(TarqEngine engine, Path broken) {
        try {
            engine.swap(broken);
            return "a broken model was accepted: " + broken;
        } catch (ModelFormatException expected) {
            return null;
        } catch (IOException | RuntimeException e) {
            return broken + " was rejected with " + e.getClass().getSimpleName() + " instead of a ModelFormatException: "
                    + e.getMessage();
        }
    }

    private static WorkerResult work(TarqEngine engine, SoakRequests requests, Settings s, long start, long warmup,
                                     long end, long seed) {
        Mode[] modes = Mode.values();
        SplittableRandom random = new SplittableRandom(seed);
        Histogram latency = new Histogram(3);
        float[] out = new float[s.candidates()];
        long count = 0, errors = 0, mismatches = 0;
        String firstError = null;
        for (long i = 0; ; i++) {
            long begin = System.nanoTime();
            if (begin >= end) {
                break;
            }
            int r = random.nextInt(requests.size());
            Mode mode = modes[(int) (i % modes.length)];
            var request = requests.request(r);
            Path served;
            try (ModelLease lease = engine.acquire()) {
                lease.scorer().score(mode, request.user(), request.history(), request.candidates(), out);
                served = lease.path();
            } catch (RuntimeException e) {
                errors++;
                firstError = firstError == null ? e.toString() : firstError;
                continue;
            }
            long elapsed = System.nanoTime() - begin;
            count++;
            if (begin - start >= warmup) {
                latency.recordValue(Math.max(1, elapsed));
            }
            boolean fromA = served.equals(s.a());
            if (!(fromA || served.equals(s.b())) || !Arrays.equals(out, requests.expected(fromA, r, mode))) {
                mismatches++;
                if (firstError == null) {
                    firstError = "request " + r + " (" + mode.cliName() + ") on " + served + " differs from its single-threaded answer";
                }
            }
        }
        return new WorkerResult(count, errors, mismatches, latency, firstError);
    }

    private static WorkerResult collect(List<Future<WorkerResult>> workers) throws InterruptedException {
        long requests = 0, errors = 0, mismatches = 0;
        Histogram latency = new Histogram(3);
        String firstError = null;
        for (Future<WorkerResult> f : workers) {
            WorkerResult w;
            try {
                w = f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                errors++;
                firstError = firstError == null ? "a request thread died: " + e.getCause() : firstError;
                continue;
            }
            requests += w.requests();
            errors += w.errors();
            mismatches += w.mismatches();
            latency.add(w.latency());
            firstError = firstError == null ? w.firstError() : firstError;
        }
        return new WorkerResult(requests, errors, mismatches, latency, firstError);
    }
}
