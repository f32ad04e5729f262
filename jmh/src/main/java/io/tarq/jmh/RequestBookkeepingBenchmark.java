package io.tarq.jmh;

import io.tarq.engine.Mode;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import jdk.jfr.EventType;
import jdk.jfr.Recording;
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
 * What a request pays for being observable and guarded: the one-thread check (a compare-and-set and a store), the
 * counters ({@code System.nanoTime} twice, two {@code LongAdder} adds) and the Flight Recorder flag, against a TT
 * request at M = 1,000 in the same run, with and without a recording of {@code io.tarq.Request} events.
 *
 * <pre>./tarq jmh RequestBookkeepingBenchmark</pre>
 *
 * {@link #bookkeeping} performs the same operations as {@code Scorer}'s entry and exit on its own objects (they are
 * private to the scorer); {@link #ttRequest} is the whole request, which includes them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(org.openjdk.jmh.annotations.Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms4g", "-Xmx4g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RequestBookkeepingBenchmark {
    /** OFF: no recording (how servers run); ON: a recording with the request event enabled. */
    public enum Recorder { OFF, ON }

    @Param({"OFF", "ON"})
    public Recorder recording;

    @Param({"1000"})
    public int candidates;

    @Param({"1000000"})
    public int items;

    private TarqModel model;
    private Scorer scorer;
    private RandomRequests requests;
    private float[] out;
    private int next;
    private Recording jfr;

    private final AtomicReference<Thread> occupant = new AtomicReference<>();
    private final LongAdder count = new LongAdder();
    private final LongAdder nanos = new LongAdder();
    private EventType requestEvent;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        SyntheticModelSpec spec = SyntheticModelSpec.defaults(items).withNMax(100);
        model = TarqModel.open(Models.synthetic(spec));
        scorer = model.newScorer();
        requests = new RandomRequests(32, spec.users(), items, 50, candidates, 17);
        out = new float[candidates];
        requestEvent = requestEventType();
        if (recording == Recorder.ON) {
            jfr = new Recording();
            jfr.enable("io.tarq.Request");
            jfr.setToDisk(false);
            jfr.start();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (jfr != null) {
            jfr.close();
        }
        model.close();
    }

    /** The engine's request event type (its class is internal to the engine; on the class path it loads by name). */
    @SuppressWarnings("unchecked")
    private static EventType requestEventType() {
        try {
            return EventType.getEventType((Class<? extends jdk.jfr.Event>) Class.forName("io.tarq.engine.RequestEvent"));
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }

    @Benchmark
    public float ttRequest() {
        int r = next++ & 31;
        scorer.score(Mode.TT, requests.users[r], requests.histories[r], requests.candidates[r], out);
        return out[r];
    }

    @Benchmark
    public boolean bookkeeping() {
        Thread self = Thread.currentThread();
        if (occupant.compareAndExchange(null, self) != null) {
            throw new IllegalStateException();
        }
        long start = System.nanoTime();
        boolean enabled = requestEvent.isEnabled();
        count.increment();
        nanos.add(System.nanoTime() - start);
        occupant.set(null);
        return enabled;
    }
}
