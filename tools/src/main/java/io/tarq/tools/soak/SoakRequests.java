package io.tarq.tools.soak;

import io.tarq.engine.Mode;
import io.tarq.engine.TarqModel;
import io.tarq.layout.IdIndex;
import io.tarq.layout.TarqTensors;
import io.tarq.layout.safetensors.TensorView;
import io.tarq.tools.jsonl.RequestLine;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The soak's random requests and, for each request and mode, the answer of each model version computed on one
 * thread by a model of its own, before the soak starts: what every concurrent response is compared with, bit for bit.
 * Candidates are items both versions know (an unknown one would be an error, not an answer); each history also carries
 * one id neither may know, which the contract drops.
 */
public final class SoakRequests {
    private final List<RequestLine> requests;
    private final float[][][] expectedA; // [request][mode][candidate]
    private final float[][][] expectedB;

    private SoakRequests(List<RequestLine> requests, float[][][] expectedA, float[][][] expectedB) {
        this.requests = requests;
        this.expectedA = expectedA;
        this.expectedB = expectedB;
    }

    public static SoakRequests make(Path a, Path b, int count, int candidates, int history, long seed) throws IOException {
        List<RequestLine> requests;
        try (TarqModel modelA = TarqModel.open(a); TarqModel modelB = TarqModel.open(b)) {
            requests = random(modelA, modelB, count, candidates, history, seed);
        }
        return new SoakRequests(requests, answers(a, requests), answers(b, requests));
    }

    private static List<RequestLine> random(TarqModel a, TarqModel b, int count, int candidates, int history, long seed)
            throws IOException {
        TensorView itemIds = a.file().tensor(TarqTensors.ITEM_IDS);
        TensorView userIds = a.file().tensor(TarqTensors.USER_IDS);
        IdIndex inB = b.file().itemIndex();
        long[] shared = new long[a.dimensions().items()];
        int sharedCount = 0;
        for (int row = 0; row < shared.length; row++) {
            long id = itemIds.getLong(row);
            if (inB.row(id) != IdIndex.MISSING) {
                shared[sharedCount++] = id;
            }
        }
        if (sharedCount == 0) {
            throw new IOException(a.file().path() + " and " + b.file().path() + " have no item id in common: no request "
                    + "has an answer under both");
        }
        SplittableRandom random = new SplittableRandom(seed);
        List<RequestLine> out = new ArrayList<>(count);
        for (int r = 0; r < count; r++) {
            long[] h = new long[history];
            for (int i = 0; i < h.length; i++) {
                h[i] = i == h.length / 2 ? random.nextLong() : shared[random.nextInt(sharedCount)];
            }
            long[] c = new long[candidates];
            for (int i = 0; i < c.length; i++) {
                c[i] = shared[random.nextInt(sharedCount)];
            }
            out.add(new RequestLine(userIds.getLong(random.nextInt(a.dimensions().users())), h, c));
        }
        return out;
    }

    private static float[][][] answers(Path path, List<RequestLine> requests) throws IOException {
        Mode[] modes = Mode.values();
        float[][][] out = new float[requests.size()][modes.length][];
        try (TarqModel model = TarqModel.open(path)) {
            var scorer = model.newScorer();
            for (int r = 0; r < requests.size(); r++) {
                RequestLine q = requests.get(r);
                for (Mode m : modes) {
                    float[] scores = new float[q.candidates().length];
                    scorer.score(m, q.user(), q.history(), q.candidates(), scores);
                    out[r][m.ordinal()] = scores;
                }
            }
        }
        return out;
    }

    public int size() {
        return requests.size();
    }

    public RequestLine request(int index) {
        return requests.get(index);
    }

    /** Version A's single-threaded answer ({@code fromA}) or version B's. */
    public float[] expected(boolean fromA, int request, Mode mode) {
        return (fromA ? expectedA : expectedB)[request][mode.ordinal()];
    }
}
