package io.tarq.tools.serve;

import io.tarq.engine.ModelLease;
import io.tarq.engine.Scorer;
import io.tarq.engine.TopK;
import io.tarq.tools.jsonl.ServeRequest;
import io.tarq.tools.jsonl.ServeRequestParser;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The JSON bodies the server answers: {@code /v1/score} and {@code /v1/topk} for a parsed body, scored on one lease
 * (one version), and error answers. What {@link TarqServer} sends, and what any other front end must send byte for
 * byte for {@code ./tarq load}'s checks to hold.
 */
public final class ScoreAnswer {
    private ScoreAnswer() {
    }

    /**
     * The body of an error answer, as every front end sends it.
     *
     * @param message the one-line message
     * @return {@code {"error": message}} and a newline
     */
    public static String error(String message) {
        return "{\"error\":" + quote(message) + "}\n";
    }

    /** A JSON string: the messages are one line already; quotes, backslashes and control characters are escaped. */
    static String quote(String s) {
        StringBuilder out = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }

    /**
     * Appends {@code scores[0..count)} as the elements of a JSON list: {@code Float.toString}'s digits, the shortest
     * decimal that reads back as the same float, and null for NaN, how the engine marks a skipped unknown candidate
     * (JSON has no NaN).
     *
     * @param out    the answer being written
     * @param scores logits
     * @param count  how many of them
     */
    public static void appendScores(StringBuilder out, float[] scores, int count) {
        for (int c = 0; c < count; c++) {
            if (c > 0) {
                out.append(',');
            }
            if (Float.isFinite(scores[c])) {
                out.append(scores[c]);
            } else {
                out.append("null");
            }
        }
    }

    /**
     * Writes {@code scores[0..count)} as little-endian float32, as a binary answer holds them.
     *
     * @param out    receives 4·count bytes at its position
     * @param scores logits
     * @param count  how many of them
     */
    public static void putScores(ByteBuffer out, float[] scores, int count) {
        out.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(scores, 0, count);
        out.position(out.position() + 4 * count);
    }

    /** A binary {@code /v1/score} answer: the bytes and the version that scored them. */
    public record Binary(long version, byte[] bytes) {
    }

    /**
     * Scores every request of the body on the lease and writes the binary answer of {@code /v1/score}: each
     * request's logits in candidate order, request after request, as little-endian IEEE 754 float32 (4·M bytes a
     * request; a skipped unknown candidate is the NaN the engine writes, where JSON writes null). The client knows
     * each request's M from what it sent, so the bytes need no framing; the version travels in a header.
     *
     * @param lease the version that scores
     * @param body  the parsed body, one request or a batch, for {@code /v1/score}
     * @return the answer
     */
    public static Binary writeBinary(ModelLease lease, ServeRequestParser.Body body) {
        int total = 0;
        for (ServeRequest r : body.requests()) {
            total += r.candidates().length; // ≤ the batch's body bound / 2 candidates: no overflow
        }
        byte[] bytes = new byte[4 * total];
        ByteBuffer out = ByteBuffer.wrap(bytes);
        float[] scores = new float[body.requests().get(0).candidates().length];
        for (ServeRequest r : body.requests()) {
            int m = r.candidates().length;
            if (scores.length < m) {
                scores = new float[m];
            }
            lease.scorer().skipUnknownCandidates(r.skipUnknown())
                    .score(r.mode(), r.user(), r.history(), 0, r.history().length, r.candidates(), 0, m, scores, 0);
            putScores(out, scores, m);
        }
        return new Binary(ModelDirectory.versionOf(lease.path()), bytes);
    }

    /**
     * Scores every request of the body on the lease and writes the answer.
     *
     * @param lease the version that scores
     * @param body  the parsed body, one request or a batch
     * @param topk  whether the endpoint is {@code /v1/topk}
     * @return the answer, one JSON value and a newline
     */
    public static String write(ModelLease lease, ServeRequestParser.Body body, boolean topk) {
        long version = ModelDirectory.versionOf(lease.path());
        StringBuilder out = new StringBuilder(64 + 16 * body.requests().get(0).candidates().length);
        if (body.batch()) {
            out.append('[');
        }
        for (int i = 0; i < body.requests().size(); i++) {
            ServeRequest r = body.requests().get(i);
            Scorer scorer = lease.scorer().skipUnknownCandidates(r.skipUnknown());
            if (i > 0) {
                out.append(',');
            }
            if (topk) {
                TopK top = r.cascade()
                        ? scorer.rescoreTopK(r.user(), r.history(), r.candidates(), r.rescore(), r.k(), new TopK())
                        : scorer.topK(r.mode(), r.user(), r.history(), r.candidates(), r.k(), new TopK());
                out.append("{\"ids\":[");
                for (int rank = 0; rank < top.size(); rank++) {
                    out.append(rank == 0 ? "" : ",").append(top.id(rank));
                }
                out.append("],\"scores\":[");
                for (int rank = 0; rank < top.size(); rank++) {
                    out.append(rank == 0 ? "" : ",").append(top.score(rank));
                }
            } else {
                float[] scores = new float[r.candidates().length];
                scorer.score(r.mode(), r.user(), r.history(), r.candidates(), scores);
                out.append("{\"scores\":[");
                appendScores(out, scores, scores.length);
            }
            out.append("],\"version\":").append(version).append('}');
        }
        return out.append(body.batch() ? "]\n" : "\n").toString();
    }
}
