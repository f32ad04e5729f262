package io.tarq.tools.jsonl;

import io.tarq.engine.RequestLimits;
import java.util.Arrays;

/**
 * Parses one request line, {@code {"user": id, "history": [ids], "candidates": [ids]}}, strictly: the three keys
 * exactly once each, in any order, ids as JSON integers that fit a signed 64-bit long (read digit by digit, never
 * through a double, so ids above 2^53 survive), JSON whitespace anywhere between tokens. Anything else is a
 * {@link RequestFormatException} that says what and at which character. Linear in the line's length.
 *
 * <p>Lists longer than the {@link RequestLimits} ({@code maxCandidates}, {@code maxHistory}) are refused at the first
 * id past the limit, so a huge request never makes the parser hold more than the limit's worth of ids.
 */
public final class RequestLineParser {
    private final RequestLimits limits;
    private String line;
    private int pos;
    private long[] buffer = new long[64];

    /** A parser with the default limits ({@link RequestLimits#DEFAULT}). */
    public RequestLineParser() {
        this(RequestLimits.DEFAULT);
    }

    public RequestLineParser(RequestLimits limits) {
        this.limits = java.util.Objects.requireNonNull(limits, "limits");
    }

    /** Parses {@code line}; the parser may be reused, it is not thread-safe. */
    public RequestLine parse(String line) throws RequestFormatException {
        this.line = line;
        this.pos = 0;
        Long user = null;
        long[] history = null;
        long[] candidates = null;
        skipWhitespace();
        expect('{');
        skipWhitespace();
        if (peek() == '}') {
            throw error("missing \"user\"");
        }
        while (true) {
            skipWhitespace();
            String key = key();
            skipWhitespace();
            expect(':');
            skipWhitespace();
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
            skipWhitespace();
            char c = peek();
            if (c == ',') {
                pos++;
                continue;
            }
            if (c == '}') {
                pos++;
                break;
            }
            throw error("expected ',' or '}'");
        }
        skipWhitespace();
        if (pos != line.length()) {
            throw error("unexpected text after the request object");
        }
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

    private String key() throws RequestFormatException {
        if (peek() != '"') {
            throw error("expected a key in double quotes");
        }
        int start = ++pos;
        while (pos < line.length() && line.charAt(pos) != '"') {
            char c = line.charAt(pos);
            if (c == '\\' || c < 0x20) {
                throw error("unexpected character in a key");
            }
            pos++;
        }
        if (pos >= line.length()) {
            throw error("unterminated key");
        }
        return line.substring(start, pos++);
    }

    private long[] integers(String field, int max) throws RequestFormatException {
        expect('[');
        skipWhitespace();
        int count = 0;
        if (peek() == ']') {
            pos++;
            return new long[0];
        }
        while (true) {
            skipWhitespace();
            if (count == max) {
                throw error("\"" + field + "\" has more than " + max + " ids, the request limit");
            }
            if (count == buffer.length) {
                // count < max here, so the buffer never grows past the limit.
                buffer = Arrays.copyOf(buffer, (int) Math.min(2L * buffer.length, max));
            }
            buffer[count++] = integer(field + "[" + count + "]");
            skipWhitespace();
            char c = peek();
            pos++;
            if (c == ']') {
                return Arrays.copyOf(buffer, count);
            }
            if (c != ',') {
                pos--;
                throw error("expected ',' or ']' in \"" + field + "\"");
            }
        }
    }

    /** A JSON integer that fits a long, accumulated negatively so that Long.MIN_VALUE parses too. */
    private long integer(String field) throws RequestFormatException {
        int start = pos;
        boolean negative = peek() == '-';
        if (negative) {
            pos++;
        }
        if (!isDigit(peek())) {
            throw error("\"" + field + "\" is not an integer id");
        }
        if (peek() == '0' && pos + 1 < line.length() && isDigit(line.charAt(pos + 1))) {
            throw error("\"" + field + "\" has a leading zero");
        }
        long value = 0;
        while (isDigit(peek())) {
            int digit = line.charAt(pos++) - '0';
            if (value < (Long.MIN_VALUE + digit) / 10) {
                throw error("\"" + field + "\" = " + line.substring(start, Math.min(line.length(), start + 40)) + "… does not fit a 64-bit id");
            }
            value = value * 10 - digit;
        }
        char c = peek();
        if (c == '.' || c == 'e' || c == 'E') {
            throw error("\"" + field + "\" is not an integer id");
        }
        if (!negative) {
            if (value == Long.MIN_VALUE) {
                throw error("\"" + field + "\" = " + line.substring(start, pos) + " does not fit a 64-bit id");
            }
            value = -value;
        }
        return value;
    }

    private void expect(char c) throws RequestFormatException {
        if (peek() != c) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    private char peek() {
        return pos < line.length() ? line.charAt(pos) : '\0';
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private void skipWhitespace() {
        while (pos < line.length()) {
            char c = line.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
                return;
            }
            pos++;
        }
    }

    private RequestFormatException error(String message) {
        return new RequestFormatException(message + " at character " + (pos + 1));
    }
}
