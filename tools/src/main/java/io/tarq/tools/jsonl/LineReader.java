package io.tarq.tools.jsonl;

import io.tarq.engine.RequestLimits;
import java.io.IOException;
import java.io.Reader;

/**
 * Reads lines (ended by {@code \n}, {@code \r\n} or the end of input) but never more than {@code maxChars} of one:
 * {@link java.io.BufferedReader#readLine()} would hold a whole line, however long, and a file with no newline is
 * one line. A longer line is a {@link RequestFormatException} and the reader stops, so a huge or corrupt input never
 * costs more than {@code maxChars} characters of memory.
 */
public final class LineReader {
    private final Reader in;
    private final int maxChars;
    private final char[] chunk = new char[8192];
    private int chunkPos;
    private int chunkEnd;
    private StringBuilder line = new StringBuilder();
    private long lineNumber;

    public LineReader(Reader in, int maxChars) {
        if (maxChars < 1) {
            throw new IllegalArgumentException("maxChars = " + maxChars + " must be at least 1");
        }
        this.in = in;
        this.maxChars = maxChars;
    }

    /**
     * The longest line a request within {@code limits} needs: every id at 20 digits and a sign, a comma and a space,
     * and room for the keys and some whitespace. Whitespace beyond that is not a request anyone meant to send.
     */
    public static int maxChars(RequestLimits limits) {
        long chars = 1024 + 24L * (1L + limits.maxCandidates() + limits.maxHistory());
        return (int) Math.min(chars, Integer.MAX_VALUE - 16);
    }

    /** The next line without its terminator, or null at the end of input. */
    public String next() throws IOException, RequestFormatException {
        line.setLength(0);
        boolean any = false;
        while (true) {
            if (chunkPos == chunkEnd) {
                chunkEnd = in.read(chunk, 0, chunk.length);
                chunkPos = 0;
                if (chunkEnd <= 0) {
                    chunkEnd = 0;
                    if (!any) {
                        return null;
                    }
                    return finish();
                }
            }
            any = true;
            int start = chunkPos;
            while (chunkPos < chunkEnd && chunk[chunkPos] != '\n') {
                chunkPos++;
            }
            if (line.length() + (chunkPos - start) > maxChars + 1) { // + 1: a '\r' before the '\n'
                throw tooLong();
            }
            line.append(chunk, start, chunkPos - start);
            if (chunkPos < chunkEnd) {
                chunkPos++; // the '\n'
                String result = finish();
                if (line.capacity() > 1 << 20) {
                    line = new StringBuilder(); // one long line must not keep its buffer for the rest of the file
                }
                return result;
            }
        }
    }

    /** Lines read so far; the number of the line {@link #next()} returned last. */
    public long lineNumber() {
        return lineNumber;
    }

    private String finish() throws RequestFormatException {
        int n = line.length();
        if (n > 0 && line.charAt(n - 1) == '\r') {
            n--;
        }
        if (n > maxChars) {
            throw tooLong();
        }
        lineNumber++;
        return line.substring(0, n);
    }

    private RequestFormatException tooLong() {
        return new RequestFormatException("line " + (lineNumber + 1) + " is longer than " + maxChars
                + " characters, more than a request within the limits needs");
    }
}
