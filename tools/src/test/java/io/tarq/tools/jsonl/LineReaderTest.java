package io.tarq.tools.jsonl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.RequestLimits;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import org.junit.jupiter.api.Test;

class LineReaderTest {
    @Test
    void readsLinesEndedByNewlineCrLfOrTheEnd() throws Exception {
        LineReader r = new LineReader(new StringReader("a\r\n\nbc\ncr\r\nlast"), 10);
        assertEquals("a", r.next());
        assertEquals("", r.next());
        assertEquals("bc", r.next());
        assertEquals("cr", r.next());
        assertEquals("last", r.next());
        assertEquals(5, r.lineNumber());
        assertNull(r.next());
        assertNull(new LineReader(new StringReader(""), 1).next());
    }

    @Test
    void aLineAtTheLimitIsReadOneOverItIsRefused() throws Exception {
        LineReader r = new LineReader(new StringReader("12345\r\n123456\n"), 5);
        assertEquals("12345", r.next());
        RequestFormatException e = assertThrows(RequestFormatException.class, r::next);
        assertEquals("line 2 is longer than 5 characters, more than a request within the limits needs", e.getMessage());
    }

    /** A gigabyte with no newline: refused after maxChars characters, without holding the rest. */
    @Test
    void anEndlessLineIsRefusedWithoutReadingItAll() {
        long[] served = {0};
        Reader endless = new Reader() {
            @Override
            public int read(char[] buffer, int offset, int length) {
                java.util.Arrays.fill(buffer, offset, offset + length, '7');
                served[0] += length;
                return length;
            }

            @Override
            public void close() {
            }
        };
        LineReader r = new LineReader(endless, 100_000);
        assertThrows(RequestFormatException.class, r::next);
        assertTrue(served[0] < 200_000, served[0] + " characters read");
    }

    @Test
    void theDefaultLimitsAllowTheLongestRequestWrittenCompactly() throws IOException, RequestFormatException {
        RequestLimits limits = new RequestLimits(1000, 100, 1000);
        StringBuilder line = new StringBuilder("{\"user\": -9223372036854775808, \"history\": [");
        for (int i = 0; i < 100; i++) {
            line.append(i == 0 ? "" : ", ").append(Long.MIN_VALUE);
        }
        line.append("], \"candidates\": [");
        for (int i = 0; i < 1000; i++) {
            line.append(i == 0 ? "" : ", ").append(Long.MIN_VALUE);
        }
        line.append("]}");
        LineReader r = new LineReader(new StringReader(line.toString()), LineReader.maxChars(limits));
        RequestLine request = new RequestLineParser(limits).parse(r.next());
        assertEquals(1000, request.candidates().length);
        assertEquals(Integer.MAX_VALUE - 16, LineReader.maxChars(new RequestLimits(Integer.MAX_VALUE, Integer.MAX_VALUE, 1)));
    }
}
