package io.tarq.tools.serve;

import io.tarq.engine.ItemVectors;
import io.tarq.engine.Mode;
import io.tarq.engine.RequestLimits;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.engine.TopK;
import io.tarq.tools.jsonl.RequestLine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What each request of a load run must get back from each model version, scored in process by the same engine code
 * on the version's file ({@code DIR/<N>/model.safetensors}). A version's answers are computed once, when a response
 * first names it, so checking a response costs a comparison, not a second scoring on the cores the server uses.
 */
final class ExpectedAnswers {
    /** A response's content: top-k ids (null for /v1/score) and scores, NaN for a skipped unknown candidate. */
    record Answer(long[] ids, float[] scores) {
        /** Bit for bit: the same ids, and each score the same float (NaN matches NaN: it travels as null). */
        boolean matches(Answer other) {
            if (!Arrays.equals(ids, other.ids) || scores.length != other.scores.length) {
                return false;
            }
            for (int i = 0; i < scores.length; i++) {
                boolean bothNaN = Float.isNaN(scores[i]) && Float.isNaN(other.scores[i]);
                if (!bothNaN && Float.floatToRawIntBits(scores[i]) != Float.floatToRawIntBits(other.scores[i])) {
                    return false;
                }
            }
            return true;
        }
    }

    private final ModelDirectory directory;
    private final ItemVectors itemVectors;
    private final List<RequestLine> requests;
    private final LoadGenerator.Shape shape;
    private final ConcurrentHashMap<Long, Answer[]> byVersion = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, String[]> texts = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, byte[][]> binaries = new ConcurrentHashMap<>();

    ExpectedAnswers(ModelDirectory directory, ItemVectors itemVectors, List<RequestLine> requests, LoadGenerator.Shape shape) {
        this.directory = directory;
        this.itemVectors = itemVectors;
        this.requests = requests;
        this.shape = shape;
    }

    /**
     * The body the server must send for request {@code index} from {@code version}, byte for byte. Float.toString
     * gives each float one shortest decimal that reads back as it, so two bodies are equal exactly when their ids
     * and scores are equal bit for bit (NaN, a skipped candidate, is null): the load generator checks an answer
     * with one string comparison instead of parsing thousands of floats on the cores the server uses.
     */
    String text(long version, int index) {
        // A version's answers are scored once; a version that cannot be read throws UncheckedIOException.
        return texts.computeIfAbsent(version, v -> {
            Answer[] answers = byVersion.computeIfAbsent(v, this::compute);
            String[] out = new String[answers.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = render(answers[i], v);
            }
            return out;
        })[index];
    }

    /**
     * The binary body the server must send for request {@code index} from {@code version} ({@code /v1/score} with
     * {@code Accept: application/octet-stream}): its logits as little-endian float32, compared byte for byte.
     */
    byte[] bytes(long version, int index) {
        return binaries.computeIfAbsent(version, v -> {
            Answer[] answers = byVersion.computeIfAbsent(v, this::compute);
            byte[][] out = new byte[answers.length][];
            for (int i = 0; i < out.length; i++) {
                float[] scores = answers[i].scores();
                out[i] = new byte[4 * scores.length];
                ScoreAnswer.putScores(ByteBuffer.wrap(out[i]), scores, scores.length);
            }
            return out;
        })[index];
    }

    /** An answer as the server writes it. */
    static String render(Answer a, long version) {
        StringBuilder s = new StringBuilder(16 + 16 * a.scores().length);
        s.append('{');
        if (a.ids() != null) {
            s.append("\"ids\":[");
            for (int i = 0; i < a.ids().length; i++) {
                s.append(i == 0 ? "" : ",").append(a.ids()[i]);
            }
            s.append("],");
        }
        s.append("\"scores\":[");
        ScoreAnswer.appendScores(s, a.scores(), a.scores().length);
        return s.append("],\"version\":").append(version).append("}\n").toString();
    }

    /** The version a server's answer names ({@code ..."version":N}} at its end), or −1. */
    static long versionOf(String body) {
        int at = body.lastIndexOf("\"version\":");
        int end = body.lastIndexOf('}');
        if (at < 0 || end < at) {
            return -1;
        }
        try {
            return Long.parseLong(body, at + 10, end, 10);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private Answer[] compute(long version) {
        try (TarqModel model = TarqModel.open(directory.modelFile(version), itemVectors)) {
            // The server's limits may be lower, but then it would refuse these requests, and that is an error anyway.
            Scorer scorer = model.newScorer().skipUnknownCandidates(true).limits(RequestLimits.DEFAULT);
            Answer[] answers = new Answer[requests.size()];
            for (int i = 0; i < answers.length; i++) {
                RequestLine r = requests.get(i);
                if (shape.k() < 0) {
                    float[] scores = new float[r.candidates().length];
                    scorer.score(shape.mode(), r.user(), r.history(), r.candidates(), scores);
                    answers[i] = new Answer(null, scores);
                } else {
                    TopK top = shape.rescore() >= 0
                            ? scorer.rescoreTopK(r.user(), r.history(), r.candidates(), shape.rescore(), shape.k(), new TopK())
                            : scorer.topK(shape.mode(), r.user(), r.history(), r.candidates(), shape.k(), new TopK());
                    long[] ids = new long[top.size()];
                    float[] scores = new float[top.size()];
                    for (int rank = 0; rank < ids.length; rank++) {
                        ids[rank] = top.id(rank);
                        scores[rank] = top.score(rank);
                    }
                    answers[i] = new Answer(ids, scores);
                }
            }
            return answers;
        } catch (IOException e) {
            throw new UncheckedIOException("version " + version + ": " + e.getMessage(), e);
        }
    }

    /** Bodies for a request shape: the request line plus mode, k, rescore; unknown candidates are skipped (null). */
    static String body(RequestLine r, LoadGenerator.Shape shape) {
        StringBuilder s = new StringBuilder(32 + 12 * (r.history().length + r.candidates().length));
        s.append("{\"user\":").append(r.user()).append(",\"history\":[");
        for (int i = 0; i < r.history().length; i++) {
            s.append(i == 0 ? "" : ",").append(r.history()[i]);
        }
        s.append("],\"candidates\":[");
        for (int i = 0; i < r.candidates().length; i++) {
            s.append(i == 0 ? "" : ",").append(r.candidates()[i]);
        }
        s.append("],\"skip_unknown\":true");
        if (shape.rescore() >= 0) {
            s.append(",\"k\":").append(shape.k()).append(",\"rescore\":").append(shape.rescore());
        } else {
            s.append(",\"mode\":\"").append(shape.mode().cliName()).append('"');
            if (shape.k() >= 0) {
                s.append(",\"k\":").append(shape.k());
            }
        }
        return s.append('}').toString();
    }

    /**
     * A response of the server, {@code {"scores":[...],"version":N}} or {@code {"ids":[...],"scores":[...],"version":N}},
     * read strictly in that layout; anything else is an IllegalArgumentException.
     */
    record Response(long version, Answer answer) {
        static Response parse(String body) {
            String s = body.strip();
            long[] ids = null;
            int at = 0;
            if (s.startsWith("{\"ids\":[")) {
                int end = s.indexOf(']', 8);
                ids = split(s.substring(8, end)).stream().mapToLong(Long::parseLong).toArray();
                at = end + 2; // past "],"
                s = "{" + s.substring(at);
            }
            if (!s.startsWith("{\"scores\":[")) {
                throw new IllegalArgumentException("not an answer: " + abbreviate(body));
            }
            int end = s.indexOf(']', 11);
            List<String> values = split(s.substring(11, end));
            float[] scores = new float[values.size()];
            for (int i = 0; i < scores.length; i++) {
                scores[i] = values.get(i).equals("null") ? Float.NaN : Float.parseFloat(values.get(i));
            }
            String tail = s.substring(end);
            if (!tail.startsWith("],\"version\":") || !tail.endsWith("}")) {
                throw new IllegalArgumentException("not an answer: " + abbreviate(body));
            }
            return new Response(Long.parseLong(tail.substring(12, tail.length() - 1)), new Answer(ids, scores));
        }

        private static List<String> split(String list) {
            return list.isEmpty() ? List.of() : Arrays.asList(list.split(","));
        }

        private static String abbreviate(String body) {
            String line = body.strip().lines().findFirst().orElse("");
            return line.length() > 120 ? line.substring(0, 120) + "…" : line;
        }
    }
}
