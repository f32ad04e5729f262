package io.tarq.tools.jsonl;

import io.tarq.engine.Mode;
import io.tarq.engine.RequestLimits;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses the body of a {@code POST /v1/score} or {@code /v1/topk}: one request object, or a JSON array of them (a
 * batch). An object has the keys of a {@code ./tarq score} line, {@code "user"}, {@code "history"} and
 * {@code "candidates"}, with the same strictness (see {@link RequestLineParser}), plus optional {@code "mode"}
 * ({@code "tt"}, {@code "tarq"}, {@code "tarq-f32"}, {@code "ta"}; default tarq), {@code "k"}, {@code "rescore"} and
 * {@code "skip_unknown"} (true or false). Whether {@code k} is required or allowed is the endpoint's to check. Faults
 * are {@link RequestFormatException}s that say what and at which character, on one line.
 */
public final class ServeRequestParser extends JsonLineScanner<RequestFormatException> {
    private final RequestLimits limits;
    private final int maxBatch;
    private Long user;
    private long[] history;
    private long[] candidates;
    private Mode mode;
    private int k;
    private int rescore;
    private Boolean skipUnknown;

    /** A parser that refuses lists past {@code limits} and batches of more than {@code maxBatch} requests. */
    public ServeRequestParser(RequestLimits limits, int maxBatch) {
        this.limits = java.util.Objects.requireNonNull(limits, "limits");
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch = " + maxBatch + " must be at least 1");
        }
        this.maxBatch = maxBatch;
    }

    /** A parsed body: its requests, and whether they came as an array (then the answer is an array too). */
    public record Body(List<ServeRequest> requests, boolean batch) {
    }

    /** Parses {@code body}. The parser may be reused; it is not thread-safe. */
    public Body parse(String body) throws RequestFormatException {
        start(body);
        skipWhitespace();
        List<ServeRequest> requests = new ArrayList<>(1);
        boolean batch = peek() == '[';
        if (batch) {
            pos++;
            skipWhitespace();
            if (peek() == ']') {
                throw error("empty batch");
            }
            while (true) {
                if (requests.size() == maxBatch) {
                    throw error("the batch has more than " + maxBatch + " requests, the limit");
                }
                requests.add(request());
                skipWhitespace();
                char c = peek();
                pos++;
                if (c == ']') {
                    break;
                }
                if (c != ',') {
                    pos--;
                    throw error("expected ',' or ']' in the batch");
                }
            }
        } else {
            requests.add(request());
        }
        skipWhitespace();
        if (pos != line.length()) {
            throw error("unexpected text after the request");
        }
        return new Body(requests, batch);
    }

    private ServeRequest request() throws RequestFormatException {
        user = null;
        history = null;
        candidates = null;
        mode = null;
        k = ServeRequest.ABSENT;
        rescore = ServeRequest.ABSENT;
        skipUnknown = null;
        nextObject("user", this::member);
        if (user == null) {
            throw error("missing \"user\"");
        }
        if (history == null) {
            throw error("missing \"history\"");
        }
        if (candidates == null) {
            throw error("missing \"candidates\"");
        }
        if (rescore != ServeRequest.ABSENT && mode != null && mode != Mode.TARQ) {
            throw error("\"rescore\" asks for the TARQ → TA cascade: \"mode\" must be tarq or absent");
        }
        return new ServeRequest(user, history, candidates, mode == null ? Mode.TARQ : mode, k, rescore,
                skipUnknown != null && skipUnknown);
    }

    private void member(String key) throws RequestFormatException {
        switch (key) {
            case "user" -> {
                once(user == null, key);
                user = integer("user");
            }
            case "history" -> {
                once(history == null, key);
                history = integers("history", limits.maxHistory());
            }
            case "candidates" -> {
                once(candidates == null, key);
                candidates = integers("candidates", limits.maxCandidates());
            }
            case "mode" -> {
                once(mode == null, key);
                int at = pos;
                String name = word("mode");
                try {
                    mode = Mode.fromCliName(name);
                } catch (IllegalArgumentException e) {
                    pos = at;
                    throw error("\"mode\": " + e.getMessage());
                }
            }
            case "k" -> {
                once(k == ServeRequest.ABSENT, key);
                k = count("k");
            }
            case "rescore" -> {
                once(rescore == ServeRequest.ABSENT, key);
                rescore = count("rescore");
            }
            case "skip_unknown" -> {
                once(skipUnknown == null, key);
                skipUnknown = bool("skip_unknown");
            }
            default -> throw error("unknown key \"" + key + "\" (a request has \"user\", \"history\", \"candidates\", "
                    + "\"mode\", \"k\", \"rescore\" and \"skip_unknown\")");
        }
    }

    private void once(boolean first, String key) throws RequestFormatException {
        if (!first) {
            throw error("\"" + key + "\" appears twice");
        }
    }

    /** A count such as k: a non-negative integer that fits an int (its limit is the scorer's to check). */
    private int count(String field) throws RequestFormatException {
        int at = pos;
        long value = integer(field);
        if (value < 0 || value > Integer.MAX_VALUE) {
            pos = at;
            throw error("\"" + field + "\" = " + value + " is not a count from 0 to " + Integer.MAX_VALUE);
        }
        return (int) value;
    }

    /** A string of letters, digits and '-' in double quotes: the only strings a request holds are mode names. */
    private String word(String field) throws RequestFormatException {
        if (peek() != '"') {
            throw error("\"" + field + "\" is not a string");
        }
        int start = ++pos;
        while (pos < line.length() && pos - start <= 16) {
            char c = line.charAt(pos);
            if (c == '"') {
                return line.substring(start, pos++);
            }
            if (!(c == '-' || Character.isLetterOrDigit(c))) {
                break;
            }
            pos++;
        }
        throw error("\"" + field + "\" is not one of tt, tarq, tarq-f32, ta");
    }

    private boolean bool(String field) throws RequestFormatException {
        if (line.startsWith("true", pos)) {
            pos += 4;
            return true;
        }
        if (line.startsWith("false", pos)) {
            pos += 5;
            return false;
        }
        throw error("\"" + field + "\" is not true or false");
    }

    @Override
    RequestFormatException newException(String message) {
        return new RequestFormatException(message);
    }
}
