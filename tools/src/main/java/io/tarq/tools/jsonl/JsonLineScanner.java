package io.tarq.tools.jsonl;

import java.util.Arrays;

/**
 * The strict lexing shared by the JSONL line parsers: keys in double quotes (no escapes), ids as JSON integers that
 * fit a signed 64-bit long (read digit by digit, never through a double, so ids above 2^53 survive), lists of ids,
 * JSON whitespace anywhere between tokens. Faults are {@code E}s that say what and at which column (from 1, as
 * editors count); list elements are named {@code "candidates[i]"} with i from 0, as the engine counts positions. Not
 * thread-safe; a subclass parses one line at a time.
 *
 * @param <E> the parser's exception
 */
abstract class JsonLineScanner<E extends Exception> {
    /** The index of a value that is not a list element. */
    static final int NOT_IN_A_LIST = -1;

    String line;
    int pos;
    private long[] buffer = new long[64];

    /** The parser's exception for {@code message} (the position is already appended). */
    abstract E newException(String message);

    final void start(String text) {
        this.line = text;
        this.pos = 0;
    }

    final String key() throws E {
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

    final long[] integers(String field) throws E {
        return integers(field, Integer.MAX_VALUE - 8);
    }

    /** A list of at most {@code max} ids: one more is refused at that id, so a huge list never allocates. */
    final long[] integers(String field, int max) throws E {
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
            buffer[count] = integer(field, count);
            count++;
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
    final long integer(String field) throws E {
        return integer(field, NOT_IN_A_LIST);
    }

    /**
     * Element {@code index} of list {@code field}, or {@code field} itself when {@code index} is
     * {@link #NOT_IN_A_LIST}. Messages name an element {@code "field[index]"} with the index counted from 0, as the
     * engine counts candidate positions; the name is built only for a message.
     */
    final long integer(String field, int index) throws E {
        int start = pos;
        boolean negative = peek() == '-';
        if (negative) {
            pos++;
        }
        if (!isDigit(peek())) {
            throw error(quoted(field, index) + " is not an integer id");
        }
        if (peek() == '0' && pos + 1 < line.length() && isDigit(line.charAt(pos + 1))) {
            throw error(quoted(field, index) + " has a leading zero");
        }
        long value = 0;
        while (isDigit(peek())) {
            int digit = line.charAt(pos++) - '0';
            if (value < (Long.MIN_VALUE + digit) / 10) {
                throw error(quoted(field, index) + " = " + line.substring(start, Math.min(line.length(), start + 40)) + "… does not fit a 64-bit id");
            }
            value = value * 10 - digit;
        }
        char c = peek();
        if (c == '.' || c == 'e' || c == 'E') {
            throw error(quoted(field, index) + " is not an integer id");
        }
        if (!negative) {
            if (value == Long.MIN_VALUE) {
                throw error(quoted(field, index) + " = " + line.substring(start, pos) + " does not fit a 64-bit id");
            }
            value = -value;
        }
        return value;
    }

    /** Reads the value of member {@code key}, the scanner at its first character; throws for a key it does not know. */
    @FunctionalInterface
    interface MemberReader<E extends Exception> {
        void read(String key) throws E;
    }

    /**
     * The whole line as one object {@code {"key": value, ...}}: each member's value read by {@code members}, JSON
     * whitespace between tokens, nothing after the closing brace. {@code what} names the object in the messages; an
     * empty object is reported as missing {@code firstKey}. Which keys are required, and that none repeats, is the
     * caller's to check.
     */
    final void object(String what, String firstKey, MemberReader<E> members) throws E {
        nextObject(firstKey, members);
        skipWhitespace();
        if (pos != line.length()) {
            throw error("unexpected text after the " + what + " object");
        }
    }

    /** One object {@code {"key": value, ...}} from the current position, leaving the scanner after its closing brace. */
    final void nextObject(String firstKey, MemberReader<E> members) throws E {
        skipWhitespace();
        expect('{');
        skipWhitespace();
        if (peek() == '}') {
            throw error("missing \"" + firstKey + "\"");
        }
        while (true) {
            skipWhitespace();
            String key = key();
            skipWhitespace();
            expect(':');
            skipWhitespace();
            members.read(key);
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
    }

    final void expect(char c) throws E {
        if (peek() != c) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    final char peek() {
        return pos < line.length() ? line.charAt(pos) : '\0';
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    final void skipWhitespace() {
        while (pos < line.length()) {
            char c = line.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
                return;
            }
            pos++;
        }
    }

    /** {@code "field"} or {@code "field[index]"}, in quotes. */
    private static String quoted(String field, int index) {
        return "\"" + field + (index == NOT_IN_A_LIST ? "" : "[" + index + "]") + "\"";
    }

    /** The message and where in the line: the column counts from 1, as editors count columns and lines. */
    final E error(String message) {
        return newException(message + " at column " + (pos + 1));
    }
}
