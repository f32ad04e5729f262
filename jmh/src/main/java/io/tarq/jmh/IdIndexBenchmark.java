package io.tarq.jmh;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.layout.IdIndex;
import io.tarq.layout.TarqModelFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Resolving one request's candidate ids (5,000 of them, drawn at random from the catalog) to rows, and opening a
 * model (map, header checks, id indexes). The catalog is a synthetic model of {@code items} items, written once to
 * {@code target/jmh-models/} (or {@code -Dtarq.jmh.models=DIR}) and reused by later runs.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
// Equal -Xms/-Xmx and pre-touch keep heap growth out of the measurement; 3 forks expose run-to-run variance.
@Fork(value = 3, jvmArgsAppend = {"-Xms4g", "-Xmx4g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector"})
// The index is a plain array walk: a few seconds of warm-up reach C2 and a steady cache state.
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class IdIndexBenchmark {
    static final int CANDIDATES = 5000;

    @Param({"1000000", "10000000"})
    public int items;

    private TarqModelFile model;
    private IdIndex index;
    private long[][] requests;
    private int[] rows;
    private int next;
    private Path file;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        file = Models.synthetic(SyntheticModelSpec.defaults(items));
        model = TarqModelFile.open(file);
        index = model.itemIndex();
        SplittableRandom random = new SplittableRandom(11);
        requests = new long[64][CANDIDATES];
        for (long[] request : requests) {
            for (int i = 0; i < CANDIDATES; i++) {
                request[i] = SyntheticModel.itemId(random.nextInt(items));
            }
        }
        rows = new int[CANDIDATES];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (int i = 0; i < CANDIDATES; i++) {
            if (rows[i] == IdIndex.MISSING) {
                throw new IllegalStateException("a catalog id did not resolve");
            }
        }
        model.close();
    }

    /** Per id; one request's 5,000 ids per invocation. */
    @Benchmark
    @OperationsPerInvocation(CANDIDATES)
    public int resolveCandidateIds() {
        long[] request = requests[next++ & 63];
        return index.rows(request, 0, CANDIDATES, rows);
    }

    /** Open and close (page cache warm): map, header, checks, both id indexes. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2)
    @Measurement(iterations = 5)
    public long openModel() throws IOException {
        try (TarqModelFile opened = TarqModelFile.open(file)) {
            return opened.itemIndex().size();
        }
    }
}
