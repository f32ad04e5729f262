package io.tarq.jmh;

import io.tarq.engine.ItemVectors;
import io.tarq.engine.Mode;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import java.io.IOException;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The requests of {@link RequestBenchmark} for TT, TARQ and exact TA at two candidate counts, interleaved in one
 * trial: each invocation runs one of the six (mode, M) pairs, drawn at random, on the next request of that pair's own
 * pool, and the time of each pair is kept apart ({@link Times}, JMH's auxiliary counters). Drawn, not in turn: in a
 * fixed rotation each pair would always follow the same other pair, and a request after an 18-ms TA request at
 * M = 50,000 finds colder caches than one after a TT request. So every mode and both M see the same
 * phases of the machine, where {@code RequestBenchmark} runs each (mode, M) in its own forks, seconds or minutes
 * apart. This VM's memory system moves between phases in which a random 64-byte row costs 5 and 11–13 ns, for
 * seconds to tens of seconds at a time (docs/benchmarks.md); the per-candidate ratios are made of memory-bound
 * work, and only an interleaved run gives them the same phases.
 *
 * <p>No two pairs share a request (each has its own 32, drawn with its own seed), so no mode finds the rows another
 * mode just fetched in cache. The benchmark's own score (the mean over all pairs) means nothing; the figures are the
 * secondary results {@code <mode><M>Nanos} and {@code <mode><M>Requests} (small M, then large), summed over the
 * iteration: {@code python3 jmh/request_ratios.py RESULT.json} turns them into µs a request, slopes and ratios.
 */
@State(Scope.Benchmark)
@BenchmarkMode(org.openjdk.jmh.annotations.Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms4g", "-Xmx4g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 10, time = 2)
public class InterleavedRequestBenchmark {
    private static final Mode[] MODES = {Mode.TT, Mode.TARQ, Mode.TA};
    private static final int POOL = 32; // a power of two: the request index wraps with a mask

    @Param({"IDS"})
    public RequestBenchmark.Api api;

    @Param({"SQ8"})
    public ItemVectors itemVectors;

    /** The two candidate counts whose difference gives the per-candidate slope. */
    @Param({"1000"})
    public int smallM;

    @Param({"50000"})
    public int largeM;

    @Param({"50"})
    public int history;

    @Param({"1000000"})
    public int items;

    private TarqModel model;
    private Scorer scorer;
    private RandomRequests[] pools; // [pair]: pair = 2 · mode + (0 small M, 1 large M)
    private final int[] nextRequest = new int[2 * MODES.length];
    private final SplittableRandom order = new SplittableRandom(7);
    private float[] out;

    /** Nanoseconds and request counts of each (mode, M) pair in one iteration: JMH reports them as they are. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Times {
        public long ttSmallNanos, ttLargeNanos, tarqSmallNanos, tarqLargeNanos, taSmallNanos, taLargeNanos;
        public long ttSmallRequests, ttLargeRequests, tarqSmallRequests, tarqLargeRequests, taSmallRequests, taLargeRequests;

        @Setup(Level.Iteration)
        public void reset() {
            ttSmallNanos = ttLargeNanos = tarqSmallNanos = tarqLargeNanos = taSmallNanos = taLargeNanos = 0;
            ttSmallRequests = ttLargeRequests = tarqSmallRequests = tarqLargeRequests = taSmallRequests = taLargeRequests = 0;
        }

        void add(int pair, long nanos) {
            switch (pair) {
                case 0 -> { ttSmallNanos += nanos; ttSmallRequests++; }
                case 1 -> { ttLargeNanos += nanos; ttLargeRequests++; }
                case 2 -> { tarqSmallNanos += nanos; tarqSmallRequests++; }
                case 3 -> { tarqLargeNanos += nanos; tarqLargeRequests++; }
                case 4 -> { taSmallNanos += nanos; taSmallRequests++; }
                default -> { taLargeNanos += nanos; taLargeRequests++; }
            }
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        if (smallM < 1 || largeM <= smallM) {
            throw new IllegalArgumentException("needs 1 <= smallM < largeM, got " + smallM + " and " + largeM);
        }
        SyntheticModelSpec spec = SyntheticModelSpec.defaults(items).withNMax(RequestBenchmark.nMaxFor(history));
        model = TarqModel.open(Models.synthetic(spec), itemVectors);
        scorer = model.newScorer();
        pools = new RandomRequests[2 * MODES.length];
        for (int pair = 0; pair < pools.length; pair++) {
            pools[pair] = new RandomRequests(POOL, spec.users(), items, history, pair % 2 == 0 ? smallM : largeM, 100 + pair);
        }
        out = new float[largeM];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
    }

    @Benchmark
    public float request(Times times) {
        int pair = order.nextInt(pools.length);
        int r = nextRequest[pair]++ & (POOL - 1);
        RandomRequests q = pools[pair];
        Mode mode = MODES[pair / 2];
        long begin = System.nanoTime();
        if (api == RequestBenchmark.Api.IDS) {
            scorer.score(mode, q.users[r], q.histories[r], q.candidates[r], out);
        } else {
            scorer.scoreRows(mode, q.userRows[r], q.historyRows[r], q.candidateRows[r], out);
        }
        times.add(pair, System.nanoTime() - begin);
        return out[0];
    }
}
