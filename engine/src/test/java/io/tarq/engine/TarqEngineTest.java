package io.tarq.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.layout.ModelFormatException;
import io.tarq.layout.safetensors.SafetensorsFile;
import io.tarq.layout.safetensors.TensorView;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hot swap: leases keep a retired model open, the last one closes it, a bad file never replaces a good one. */
class TarqEngineTest {
    static final int ITEMS = 400;

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
        SyntheticModel.write(spec.withSeed(2), b);
    }

    static final long[] HISTORY = {SyntheticModel.itemId(3), SyntheticModel.itemId(99), SyntheticModel.itemId(250)};
    static final long[] CANDIDATES = randomCandidates();

    private static long[] randomCandidates() {
        return new SplittableRandom(5).ints(64, 0, ITEMS).mapToLong(SyntheticModel::itemId).toArray();
    }

    static float[] direct(Path model, Mode mode) throws IOException {
        try (TarqModel m = TarqModel.open(model)) {
            float[] out = new float[CANDIDATES.length];
            m.newScorer().score(mode, 4, HISTORY, CANDIDATES, out);
            return out;
        }
    }

    static float[] leased(ModelLease lease, Mode mode) {
        float[] out = new float[CANDIDATES.length];
        lease.scorer().score(mode, 4, HISTORY, CANDIDATES, out);
        return out;
    }

    @Test
    void servesTheModelItOpenedAndTheOneSwappedIn() throws IOException {
        float[] expectA = direct(a, Mode.TARQ);
        float[] expectB = direct(b, Mode.TARQ);
        assertFalse(Arrays.equals(expectA, expectB), "the two versions must differ for this test to mean anything");
        try (TarqEngine engine = TarqEngine.open(a)) {
            assertEquals(1, engine.version());
            float[] out = new float[CANDIDATES.length];
            engine.score(Mode.TARQ, 4, HISTORY, CANDIDATES, out);
            assertArrayEquals(expectA, out);
            assertEquals(2, engine.swap(b));
            engine.score(Mode.TARQ, 4, HISTORY, CANDIDATES, out);
            assertArrayEquals(expectB, out);
            assertEquals(b, engine.path());
            assertEquals(1, engine.swaps());
            assertEquals(1, engine.liveModels(), "no request held version 1: it closed at the swap");
        }
    }

    @Test
    void aRetiredModelStaysOpenUntilItsLastLeaseEnds() throws IOException {
        float[] expectA = direct(a, Mode.TA);
        TarqEngine engine = TarqEngine.open(a);
        ModelLease first = engine.acquire();
        ModelLease second = engine.acquire();
        TarqModel v1 = first.model();
        engine.swap(b);
        assertTrue(v1.isOpen(), "two requests still run on version 1");
        assertEquals(2, engine.liveModels());
        assertArrayEquals(expectA, leased(first, Mode.TA), "a request that began on version 1 ends on it");
        first.close();
        first.close(); // idempotent: must not drop a second reference
        assertTrue(v1.isOpen(), "one request still runs on version 1");
        try (ModelLease fresh = engine.acquire()) {
            assertEquals(2, fresh.version());
        }
        second.close();
        assertFalse(v1.isOpen(), "the last lease closed version 1");
        assertEquals(1, engine.liveModels());
        assertThrows(IllegalStateException.class, first::scorer);
        engine.close();
        assertEquals(0, engine.liveModels());
    }

    @Test
    void closingTheEngineWaitsForRunningRequestsThenRefusesNewOnes() throws IOException {
        TarqEngine engine = TarqEngine.open(a);
        ModelLease lease = engine.acquire();
        engine.close();
        engine.close();
        assertTrue(lease.model().isOpen());
        leased(lease, Mode.TT);
        lease.close();
        assertEquals(0, engine.liveModels());
        IllegalStateException e = assertThrows(IllegalStateException.class, engine::acquire);
        assertEquals("the engine is closed", e.getMessage());
        assertThrows(IllegalStateException.class, () -> engine.swap(b));
    }

    @Test
    void aBadFileIsRejectedAndTheCurrentModelKeepsServing() throws IOException {
        float[] expectA = direct(a, Mode.TARQ);
        Path truncated = truncatedCopy(a, dir.resolve("truncated.safetensors"));
        Path garbage = Files.write(dir.resolve("garbage.safetensors"), "not a model at all, just text".getBytes());
        Path nan = nanCopy(a, dir.resolve("nan.safetensors"));
        try (TarqEngine engine = TarqEngine.open(a)) {
            ModelFormatException t = assertThrows(ModelFormatException.class, () -> engine.swap(truncated));
            assertTrue(t.getMessage().startsWith(truncated.toString()), t.getMessage());
            assertThrows(ModelFormatException.class, () -> engine.swap(garbage));
            ModelFormatException n = assertThrows(ModelFormatException.class, () -> engine.swap(nan));
            assertTrue(n.getMessage().contains("head.tau"), n.getMessage());
            assertThrows(NoSuchFileException.class, () -> engine.swap(dir.resolve("missing.safetensors")));
            assertEquals(4, engine.rejectedSwaps());
            assertEquals(0, engine.swaps());
            assertEquals(1, engine.version());
            assertEquals(1, engine.liveModels(), "a rejected file is closed, not leaked");
            float[] out = new float[CANDIDATES.length];
            engine.score(Mode.TARQ, 4, HISTORY, CANDIDATES, out);
            assertArrayEquals(expectA, out);
        }
    }

    @Test
    void withoutContentChecksNanWeightsWouldBeServed() throws IOException {
        // Why verifyContents defaults to true: the structure of a NaN-corrupted file is valid.
        Path nan = nanCopy(a, dir.resolve("nan-unchecked.safetensors"));
        try (TarqEngine engine = TarqEngine.builder().verifyContents(false).open(a)) {
            engine.swap(nan);
            float[] out = new float[CANDIDATES.length];
            engine.score(Mode.TT, 4, HISTORY, CANDIDATES, out);
            assertTrue(Float.isNaN(out[0]));
        }
    }

    @Test
    void limitsAndPolicyComeFromTheEngineAndSurviveACallerChangingTheScorer() throws IOException {
        RequestLimits limits = RequestLimits.DEFAULT.withMaxCandidates(64).withMaxHistory(8);
        try (TarqEngine engine = TarqEngine.builder().limits(limits).scorerPool(1).prefill(1).open(a)) {
            try (ModelLease lease = engine.acquire()) {
                float[] out = new float[65];
                RequestLimitException e = assertThrows(RequestLimitException.class,
                        () -> lease.scorer().score(Mode.TT, 4, HISTORY, new long[65], out));
                assertEquals("request candidates: 65 is over the limit of 64", e.getMessage());
                lease.scorer().limits(RequestLimits.DEFAULT).skipUnknownCandidates(true);
            }
            try (ModelLease lease = engine.acquire()) {
                assertEquals(limits, lease.scorer().limits(), "the pooled scorer got the engine's limits back");
                assertThrows(UnknownCandidateException.class,
                        () -> lease.scorer().score(Mode.TT, 4, HISTORY, new long[] {-1}, new float[1]));
            }
        }
    }

    /**
     * Requests on four threads while the main thread swaps a and b (and a truncated file) as fast as it can: every
     * response must be exactly the single-threaded answer of the version its lease holds, and no model may stay open.
     */
    @Test
    void requestsDuringSwapsGetExactlyOneVersionsAnswer() throws Exception {
        Mode[] modes = Mode.values();
        float[][] expectA = new float[modes.length][];
        float[][] expectB = new float[modes.length][];
        for (Mode m : modes) {
            expectA[m.ordinal()] = direct(a, m);
            expectB[m.ordinal()] = direct(b, m);
        }
        Path truncated = truncatedCopy(a, dir.resolve("truncated-race.safetensors"));
        List<TarqModel> seen = java.util.Collections.synchronizedList(new ArrayList<>());
        TarqEngine engine = TarqEngine.builder().verifyContents(false).open(a);
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Long>> workers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int offset = t;
            workers.add(pool.submit(() -> {
                long requests = 0;
                while (!stop.get()) {
                    Mode mode = modes[(int) ((requests + offset) % modes.length)];
                    try (ModelLease lease = engine.acquire()) {
                        float[] expect = lease.path().equals(a) ? expectA[mode.ordinal()] : expectB[mode.ordinal()];
                        assertArrayEquals(expect, leased(lease, mode), "version " + lease.version() + " " + mode);
                        if (requests % 50 == 0) {
                            seen.add(lease.model());
                        }
                    }
                    requests++;
                }
                return requests;
            }));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        int swaps = 0;
        while (System.nanoTime() < deadline) {
            swaps++;
            if (swaps % 10 == 0) {
                assertThrows(ModelFormatException.class, () -> engine.swap(truncated));
            } else {
                engine.swap(swaps % 2 == 0 ? a : b);
            }
        }
        stop.set(true);
        long requests = 0;
        for (Future<Long> f : workers) {
            requests += f.get(30, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertTrue(requests > 100, requests + " requests");
        assertTrue(engine.swaps() > 10, engine.swaps() + " swaps");
        assertEquals(1, engine.liveModels());
        engine.close();
        assertEquals(0, engine.liveModels());
        for (TarqModel m : seen) {
            assertFalse(m.isOpen(), "every version was closed");
        }
    }

    static Path truncatedCopy(Path from, Path to) throws IOException {
        byte[] bytes = Files.readAllBytes(from);
        return Files.write(to, Arrays.copyOf(bytes, bytes.length / 2));
    }

    /** A copy whose {@code head.tau} is NaN: structurally valid, caught only by the content checks. */
    static Path nanCopy(Path from, Path to) throws IOException {
        return patchedCopy(from, to, "head.tau", 0, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, Float.NaN));
    }

    /** A copy of {@code from} with {@code bytes} written at byte {@code at} of tensor {@code tensor}'s data. */
    static Path patchedCopy(Path from, Path to, String tensor, long at, ByteBuffer bytes) throws IOException {
        Files.copy(from, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        long offset;
        try (SafetensorsFile file = SafetensorsFile.open(from)) {
            // The reader checked that the tensors tile the data section in this order: offsets are running sums.
            offset = file.dataOffset();
            for (TensorView t : file.tensors()) {
                if (t.name().equals(tensor)) {
                    break;
                }
                offset += t.byteSize();
            }
        }
        try (FileChannel channel = FileChannel.open(to, StandardOpenOption.WRITE)) {
            channel.write(bytes.rewind(), offset + at);
        }
        return to;
    }
}
