package io.tarq.jmh;

import io.tarq.engine.ItemVectors;
import io.tarq.engine.Mode;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
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
 * The requests of {@link RequestBenchmark} for several modes and candidate counts interleaved in one trial: each
 * invocation runs one (mode, M) pair, drawn at random, on the next request of that pair's own pool, and the time of
 * each pair is kept apart ({@link Times}, JMH's auxiliary counters). So every pair sees the same phases of the machine,
 * where {@code RequestBenchmark} runs each (mode, M) in its own forks, seconds or minutes apart. This VM's memory
 * system moves between phases in which a random 64-byte line costs 5 and 11–13 ns, for seconds to tens of seconds at
 * a time (docs/benchmarks.md); the per-candidate ratios are made of memory-bound work, and only an interleaved run
 * gives them the same phases.
 *
 * <p>Drawn, not in turn: in a fixed rotation each pair would always follow the same other pair, and a request after
 * an 18-ms TA request at M = 50,000 finds colder caches than one after a TT request. No two pairs share a request
 * (each has its own 32, drawn with its own seed), so no pair finds the rows another just fetched in cache.
 *
 * <p>Besides the engine's modes (and ONNX Runtime's), {@code modes} takes the memory floor of a request's candidates
 * ({@link MemoryFloor}): {@code FLOOR_FLOAT} (a slot, then a float row of {@code item.vec}'s width),
 * {@code FLOOR_SQ8} (a slot, then a row of d_v bytes rounded up to 16, as {@link ItemVectors#SQ8}'s: one line at
 * d_v = 64) and {@code FLOOR_RECORDS} (a slot, then a float row of d_v + dx, as {@link ItemVectors#RECORDS}'), in
 * tables of the model's N rows: their slopes are the floors the engine's slopes are quoted against, measured in the
 * same phases. {@code FLOOR_ROWS_FLOAT}, {@code FLOOR_ROWS_SQ8} and {@code FLOOR_ROWS_RECORDS} are the same rows with no
 * slot before them: the floor of the rows API ({@code api = ROWS}). {@code FMA_PEAK} is the user side's multiply-adds
 * for {@code history} behaviours in the contract's order ({@link FmaPeak#userSideMultiplyAdds}) at the core's FMA peak
 * ({@link FmaPeak}), whatever the size: the time the contract's user side would take at the peak, measured in the same
 * phases.
 *
 * <p>{@code modes} and {@code sizes} are lists joined by '+' (JMH's {@code -p} splits its values at commas), at most
 * {@value #MAX_PAIRS} pairs; the ORT modes need the ort build, {@code ./tarq jmh --ort}. The benchmark's own score (the mean over all pairs) means nothing; the figures
 * are the secondary results {@code pairPNanos} and {@code pairPRequests}, summed over the iterations, where pair
 * p = (index in modes) · (number of sizes) + (index in sizes): {@code python3 jmh/request_ratios.py RESULT.json} turns
 * them into µs a request, slopes and ratios.
 */
@State(Scope.Benchmark)
@BenchmarkMode(org.openjdk.jmh.annotations.Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms4g", "-Xmx4g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 10, time = 2)
public class InterleavedModesBenchmark {
    static final int MAX_PAIRS = 8;
    private static final int POOL = 32; // a power of two: the request index wraps with a mask

    @Param({"IDS"})
    public RequestBenchmark.Api api;

    @Param({"SQ8"})
    public ItemVectors itemVectors;

    /** {@link RequestBenchmark.ScoringMode} names. */
    @Param({"TT+TARQ+TA"})
    public String modes;

    /** Candidate counts; two give the per-candidate slope. */
    @Param({"1000+50000"})
    public String sizes;

    @Param({"50"})
    public int history;

    /** dx of the synthetic model's cross head (format version 2); 0: a version-1 model without it. */
    @Param({"0"})
    public int crossDim;

    @Param({"1000000"})
    public int items;

    @Param({"1"})
    public int ortThreads;

    private TarqModel model;
    private Scorer scorer;
    private Mode[] engineModes;      // [pair]: the engine's mode, or null for an ORT pair
    private RequestScorer[] ort;     // [pair]: the ORT scorer, or null
    private RandomRequests[] pools;  // [pair]
    private MemoryFloor[] floors;    // [pair]: the floor of a FLOOR_* pair, or null
    private FmaPeak[] peaks;         // [pair]: the FMA_PEAK work, or null
    private int[] nextRequest;
    private final SplittableRandom order = new SplittableRandom(7);
    private float[] out;

    /** Nanoseconds and requests of each pair (up to {@value #MAX_PAIRS}) in one iteration, reported as they are. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Times {
        public long pair0Nanos, pair1Nanos, pair2Nanos, pair3Nanos, pair4Nanos, pair5Nanos, pair6Nanos, pair7Nanos;
        public long pair0Requests, pair1Requests, pair2Requests, pair3Requests, pair4Requests, pair5Requests,
                pair6Requests, pair7Requests;

        @Setup(Level.Iteration)
        public void reset() {
            pair0Nanos = pair1Nanos = pair2Nanos = pair3Nanos = pair4Nanos = pair5Nanos = pair6Nanos = pair7Nanos = 0;
            pair0Requests = pair1Requests = pair2Requests = pair3Requests = pair4Requests = pair5Requests = pair6Requests
                    = pair7Requests = 0;
        }

        void add(int pair, long nanos) {
            switch (pair) {
                case 0 -> { pair0Nanos += nanos; pair0Requests++; }
                case 1 -> { pair1Nanos += nanos; pair1Requests++; }
                case 2 -> { pair2Nanos += nanos; pair2Requests++; }
                case 3 -> { pair3Nanos += nanos; pair3Requests++; }
                case 4 -> { pair4Nanos += nanos; pair4Requests++; }
                case 5 -> { pair5Nanos += nanos; pair5Requests++; }
                case 6 -> { pair6Nanos += nanos; pair6Requests++; }
                default -> { pair7Nanos += nanos; pair7Requests++; }
            }
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        String[] modeList = Arrays.stream(modes.split("\\+")).map(String::trim).toArray(String[]::new);
        int[] sizeList = Arrays.stream(sizes.split("\\+")).map(String::trim).mapToInt(Integer::parseInt).toArray();
        int pairs = modeList.length * sizeList.length;
        if (pairs > MAX_PAIRS || Arrays.stream(sizeList).anyMatch(m -> m < 1)) {
            throw new IllegalArgumentException("modes × sizes must be at most " + MAX_PAIRS + " pairs and every size"
                    + " at least 1, got modes=" + modes + " sizes=" + sizes);
        }
        SyntheticModelSpec spec = SyntheticModelSpec.defaults(items).withCrossDim(crossDim).withNMax(RequestBenchmark.nMaxFor(history));
        Path file = Models.synthetic(spec);
        model = TarqModel.open(file, itemVectors);
        scorer = model.newScorer();
        engineModes = new Mode[pairs];
        ort = new RequestScorer[pairs];
        pools = new RandomRequests[pairs];
        floors = new MemoryFloor[pairs];
        peaks = new FmaPeak[pairs];
        nextRequest = new int[pairs];
        int dv = model.dimensions().dv();
        for (int pair = 0; pair < pairs; pair++) {
            String name = modeList[pair / sizeList.length];
            int size = sizeList[pair % sizeList.length];
            if (name.equals("FMA_PEAK")) {
                peaks[pair] = new FmaPeak(FmaPeak.userSideMultiplyAdds(model.dimensions(), history));
                continue;
            }
            boolean rowsOnly = name.startsWith("FLOOR_ROWS_");
            long floorRowBytes = switch (rowsOnly ? "FLOOR_" + name.substring("FLOOR_ROWS_".length()) : name) {
                case "FLOOR_FLOAT" -> 4L * dv;
                case "FLOOR_SQ8" -> (dv + 15) / 16 * 16;
                case "FLOOR_RECORDS" -> 4L * (dv + crossDim);
                default -> 0;
            };
            if (floorRowBytes > 0) {
                floors[pair] = rowsOnly ? MemoryFloor.rowsOnly(items, floorRowBytes, POOL, size, 100 + pair)
                        : new MemoryFloor(items, floorRowBytes, POOL, size, 100 + pair);
                continue;
            }
            RequestBenchmark.ScoringMode mode = RequestBenchmark.ScoringMode.valueOf(name);
            if (mode.graph() == null) {
                engineModes[pair] = Mode.valueOf(mode.name());
            } else if (api != RequestBenchmark.Api.IDS) {
                throw new IllegalArgumentException("mode " + mode + " runs through ids only (api = IDS)");
            } else {
                ort[pair] = OrtGraphs.open(model, file, mode.graph(), ortThreads);
            }
            pools[pair] = new RandomRequests(POOL, spec.users(), items, history, size, 100 + pair);
        }
        out = new float[Arrays.stream(sizeList).max().getAsInt()];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (RequestScorer s : ort) {
            if (s != null) {
                s.close();
            }
        }
        for (MemoryFloor floor : floors) {
            if (floor != null) {
                floor.close();
            }
        }
        model.close();
    }

    @Benchmark
    public float request(Times times) {
        int pair = order.nextInt(pools.length);
        int r = nextRequest[pair]++ & (POOL - 1);
        long begin = System.nanoTime();
        float result;
        if (floors[pair] != null) {
            result = floors[pair].request(r);
        } else if (peaks[pair] != null) {
            result = peaks[pair].run();
        } else {
            pools[pair].score(r, ort[pair], scorer, engineModes[pair], api, out);
            result = out[0];
        }
        times.add(pair, System.nanoTime() - begin);
        return result;
    }
}
