package io.tarq.tools.jsonl;

import io.tarq.engine.RequestLimits;

/**
 * Parses one request line, {@code {"user": id, "history": [ids], "candidates": [ids]}}, strictly: the three keys
 * exactly once each, in any order, ids as JSON integers that fit a signed 64-bit long (read digit by digit, never
 * through a double, so ids above 2^53 survive), JSON whitespace anywhere between tokens. Anything else is a
 * {@link RequestFormatException} that says what and at which column. Linear in the line's length.
 */
public final class RequestLineParser extends JsonLineScanner<RequestFormatException> {
    private final RequestLimits limits;
    // The members of the line being parsed (null until read).
    private Long user;
    private long[] history;
    private long[] candidates;

    /** A parser with the default limits ({@link RequestLimits#DEFAULT}). */
    public RequestLineParser() {
        this(RequestLimits.DEFAULT);
    }

    /** A parser that refuses a list past its limit at the first id over it, before reading the rest of the line. */
    public RequestLineParser(RequestLimits limits) {
        this.limits = java.util.Objects.requireNonNull(limits, "limits");
    }

    /** Parses {@code line}; the parser may be reused, it is not thread-safe. */
    public RequestLine parse(String line) throws RequestFormatException {
        start(line);
        user = null;
        history = null;
        candidates = null;
        object("request", "user", this::member);
        if (user == null) {
            throw error("missing \"user\"");
        }
        if (history == null) {
            throw error("missing \"history\"");
        }
        if (candidates == null) {
            throw error("missing \"candidates\"");
        }
        return new RequestLine(user, history, candidates);
    }

    private void member(String key) throws RequestFormatException {
        switch (key) {
            case "user" -> {
                if (user != null) {
                    throw error("\"user\" appears twice");
                }
                user = integer("user");
            }
            case "history" -> {
                if (history != null) {
                    throw error("\"history\" appears twice");
                }
                history = integers("history", limits.maxHistory());
            }
            case "candidates" -> {
                if (candidates != null) {
                    throw error("\"candidates\" appears twice");
                }
                candidates = integers("candidates", limits.maxCandidates());
            }
            default -> throw error("unknown key \"" + key + "\" (a request has \"user\", \"history\" and \"candidates\")");
        }
    }

    @Override
    RequestFormatException newException(String message) {
        return new RequestFormatException(message);
    }
}
