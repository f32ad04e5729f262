package io.tarq.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Request counters for a server to export, and the Flight Recorder events for requests and swaps. */
class ObservabilityTest {
    static final int ITEMS = 500;

    @TempDir
    static Path dir;
    static Path a;
    static Path b;

    @BeforeAll
    static void models() throws IOException {
        a = dir.resolve("a.safetensors");
        b = dir.resolve("b.safetensors");
        SyntheticModelSpec spec = SyntheticModelSpec.defaults(ITEMS).withUsers(10).withNMax(16);
        SyntheticModel.write(spec.withSeed(1), a);
        SyntheticModel.write(spec.withSeed(2).withCrossDim(16), b);
    }

    static final long[] HISTORY = {SyntheticModel.itemId(3), SyntheticModel.itemId(99)};
    static final long[] CANDIDATES = {SyntheticModel.itemId(1), SyntheticModel.itemId(2), SyntheticModel.itemId(3)};
    static final long[] WITH_UNKNOWN = {SyntheticModel.itemId(1), -77};

    @Test
    void aModelsScorersCountRequestsByModeAndFailuresByKind() throws IOException {
        try (TarqModel model = TarqModel.open(a)) {
            Scorer scorer = model.newScorer();
            float[] out = new float[3];
            scorer.score(Mode.TT, 1, HISTORY, CANDIDATES, out);
            scorer.score(Mode.TARQ, 1, HISTORY, CANDIDATES, out);
            scorer.score(Mode.TARQ, 1, HISTORY, CANDIDATES, out);
            scorer.topK(Mode.TA, 1, HISTORY, CANDIDATES, 2, new TopK());
            scorer.rescoreTopK(1, HISTORY, CANDIDATES, 3, 2, new TopK());
            assertThrows(UnknownCandidateException.class, () -> scorer.score(Mode.TT, 1, HISTORY, WITH_UNKNOWN, out));
            assertThrows(IllegalArgumentException.class, () -> scorer.score(Mode.TT, 1, HISTORY, CANDIDATES, new float[1]));
            assertThrows(RequestLimitException.class,
                    () -> scorer.limits(RequestLimits.DEFAULT.withMaxCandidates(2)).score(Mode.TT, 1, HISTORY, CANDIDATES, out));

            RequestMetrics m = model.metrics();
            assertEquals(1, m.requests(Mode.TT));
            assertEquals(2, m.requests(Mode.TARQ));
            assertEquals(0, m.requests(Mode.TARQ_F32));
            assertEquals(1, m.requests(Mode.TA));
            assertEquals(1, m.cascades());
            assertTrue(m.nanos(Mode.TARQ) > 0 && m.cascadeNanos() > 0);
            assertEquals(1, m.failures(RequestMetrics.Failure.UNKNOWN_CANDIDATE));
            assertEquals(1, m.failures(RequestMetrics.Failure.BAD_REQUEST));
            assertEquals(1, m.failures(RequestMetrics.Failure.OVER_LIMIT));
            assertEquals(3, m.failures());
        }
    }

    @Test
    void aSecondThreadInsideAScorerCountsAsMisuse() throws Exception {
        try (TarqModel model = TarqModel.open(a)) {
            Scorer scorer = model.newScorer();
            CyclicBarrier barrier = new CyclicBarrier(2);
            Runnable hammer = () -> {
                float[] out = new float[CANDIDATES.length];
                try {
                    barrier.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                for (int i = 0; i < 2000; i++) {
                    try {
                        scorer.score(Mode.TT, 1, HISTORY, CANDIDATES, out);
                    } catch (IllegalStateException expected) {
                        // counted
                    }
                }
            };
            Thread t1 = Thread.ofPlatform().start(hammer), t2 = Thread.ofPlatform().start(hammer);
            t1.join();
            t2.join();
            RequestMetrics m = model.metrics();
            long misuse = m.failures(RequestMetrics.Failure.MISUSE);
            assertEquals(4000, m.requests(Mode.TT) + misuse, "every call either completed or was refused");
        }
    }

    @Test
    void anEnginesCountersSpanItsVersions() throws IOException {
        try (TarqEngine engine = TarqEngine.builder().prefill(1).open(a)) {
            float[] out = new float[3];
            engine.score(Mode.TARQ, 1, HISTORY, CANDIDATES, out);
            engine.swap(b);
            engine.score(Mode.TARQ, 1, HISTORY, CANDIDATES, out);
            try (ModelLease lease = engine.acquire()) {
                lease.scorer().score(Mode.TA, 1, HISTORY, CANDIDATES, out);
            }
            assertEquals(2, engine.metrics().requests(Mode.TARQ));
            assertEquals(1, engine.metrics().requests(Mode.TA));
        }
    }

    @Test
    void aRecordingSeesRequestsAndSwaps() throws Exception {
        Path file = dir.resolve("events.jfr");
        Path broken = Files.write(dir.resolve("broken.safetensors"), new byte[] {1, 2, 3});
        try (Recording recording = new Recording()) {
            recording.enable("io.tarq.Request");
            recording.enable("io.tarq.Swap");
            recording.start();
            try (TarqEngine engine = TarqEngine.builder().prefill(1).skipUnknownCandidates(false).open(a)) {
                float[] out = new float[3];
                engine.score(Mode.TARQ, 1, HISTORY, CANDIDATES, out);
                try (ModelLease lease = engine.acquire()) {
                    lease.scorer().topK(Mode.TT, 1, HISTORY, CANDIDATES, 2, new TopK());
                    assertThrows(UnknownCandidateException.class,
                            () -> lease.scorer().score(Mode.TA, 1, HISTORY, WITH_UNKNOWN, out));
                }
                engine.swap(b);
                assertThrows(IOException.class, () -> engine.swap(broken));
            }
            recording.stop();
            recording.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        List<RecordedEvent> requests = events.stream().filter(e -> e.getEventType().getName().equals("io.tarq.Request")).toList();
        List<RecordedEvent> swaps = events.stream().filter(e -> e.getEventType().getName().equals("io.tarq.Swap")).toList();
        assertEquals(3, requests.size(), requests.toString());
        assertEquals(List.of("score TARQ 3 2 0 ", "topK TT 3 2 2 ",
                        "score TA 2 2 0 " + UnknownCandidateException.class.getName()),
                requests.stream().map(e -> e.getString("operation") + " " + e.getString("mode") + " " + e.getInt("candidates")
                        + " " + e.getInt("behaviours") + " " + e.getInt("k") + " " + e.getString("failure")).toList());
        assertTrue(requests.get(0).getDuration().toNanos() > 0);
        assertEquals(2, swaps.size(), swaps.toString());
        assertTrue(swaps.get(0).getBoolean("accepted"));
        assertEquals(1, swaps.get(0).getLong("fromVersion"));
        assertEquals(2, swaps.get(0).getLong("toVersion"));
        assertEquals(b.toString(), swaps.get(0).getString("path"));
        assertTrue(!swaps.get(1).getBoolean("accepted") && swaps.get(1).getLong("toVersion") == 0);
        assertTrue(swaps.get(1).getString("failure").contains("broken.safetensors"), swaps.get(1).getString("failure"));
        assertTrue(Arrays.stream(new String[] {"io.tarq.Request", "io.tarq.Swap"}).allMatch(
                name -> events.stream().anyMatch(e -> e.getEventType().getName().equals(name))));
    }
}
