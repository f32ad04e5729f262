package io.tarq.tools.jsonl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RequestLineParserTest {
    private final RequestLineParser parser = new RequestLineParser();

    @Test
    void parsesARequestInAnyKeyOrderWithAnyWhitespace() throws RequestFormatException {
        RequestLine r = parser.parse(" {\"candidates\" : [ 3 ,4,-5 ] ,\t\"user\":-7, \"history\":[]} ");
        assertEquals(-7, r.user());
        assertArrayEquals(new long[0], r.history());
        assertArrayEquals(new long[] {3, 4, -5}, r.candidates());
    }

    @Test
    void idsKeepAll64Bits() throws RequestFormatException {
        RequestLine r = parser.parse("{\"user\": 9223372036854775807, \"history\": [-9223372036854775808, 9007199254740993],"
                + " \"candidates\": [0, -0]}");
        assertEquals(Long.MAX_VALUE, r.user());
        assertArrayEquals(new long[] {Long.MIN_VALUE, 9007199254740993L}, r.history()); // 2^53 + 1: a double would lose it
        assertArrayEquals(new long[] {0, 0}, r.candidates());
    }

    @Test
    void longListsGrowTheBuffer() throws RequestFormatException {
        SplittableRandom random = new SplittableRandom(1);
        long[] ids = random.longs(5000).toArray();
        StringBuilder line = new StringBuilder("{\"user\":1,\"history\":[],\"candidates\":[");
        for (int i = 0; i < ids.length; i++) {
            line.append(i == 0 ? "" : ",").append(ids[i]);
        }
        assertArrayEquals(ids, parser.parse(line.append("]}").toString()).candidates());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "''                                                          | expected '{'",
            "{}                                                          | missing \"user\"",
            "{\"user\":1,\"history\":[]}                                 | missing \"candidates\"",
            "{\"user\":1,\"candidates\":[]}                              | missing \"history\"",
            "{\"user\":1,\"user\":2,\"history\":[],\"candidates\":[]}    | \"user\" appears twice",
            "{\"user\":1,\"history\":[],\"candidates\":[],\"x\":1}       | unknown key \"x\"",
            "{\"user\":1.5,\"history\":[],\"candidates\":[]}             | \"user\" is not an integer id",
            "{\"user\":\"1\",\"history\":[],\"candidates\":[]}           | \"user\" is not an integer id",
            "{\"user\":1,\"history\":[1,],\"candidates\":[]}             | \"history[1]\" is not an integer id",
            "{\"user\":1,\"history\":[1 2],\"candidates\":[]}            | expected ',' or ']' in \"history\"",
            "{\"user\":1,\"history\":[],\"candidates\":[1e3]}            | \"candidates[0]\" is not an integer id",
            "{\"user\":1,\"history\":[],\"candidates\":[7, 1.5]}        | \"candidates[1]\" is not an integer id at column 42",
            "{\"user\":1,\"history\":[],\"candidates\":[012]}            | leading zero",
            "{\"user\":9223372036854775808,\"history\":[],\"candidates\":[]} | does not fit a 64-bit id",
            "{\"user\":-9223372036854775809,\"history\":[],\"candidates\":[]} | does not fit a 64-bit id",
            "{\"user\":1,\"history\":[],\"candidates\":[]} x             | unexpected text after the request object",
            "{\"user\":1,\"history\":[],\"candidates\":[]                | expected ',' or '}'",
            "[1,2]                                                       | expected '{'"})
    void rejectsWhatIsNotARequestSayingWhatAndWhere(String line, String fault) {
        RequestFormatException e = assertThrows(RequestFormatException.class, () -> parser.parse(line));
        assertTrue(e.getMessage().contains(fault), e.getMessage());
        assertTrue(e.getMessage().contains("at column "), e.getMessage());
    }

    @Test
    void listsOverTheLimitsAreRefusedAtTheFirstIdPastThem() throws RequestFormatException {
        RequestLineParser limited = new RequestLineParser(new io.tarq.engine.RequestLimits(3, 0, 3));
        assertEquals(3, limited.parse("{\"user\":1,\"history\":[],\"candidates\":[1,2,3]}").candidates().length);
        RequestFormatException e = assertThrows(RequestFormatException.class,
                () -> limited.parse("{\"user\":1,\"history\":[],\"candidates\":[1,2,3,4]}"));
        assertEquals("\"candidates\" has more than 3 ids, the request limit at column 44", e.getMessage());
        RequestFormatException h = assertThrows(RequestFormatException.class,
                () -> limited.parse("{\"user\":1,\"history\":[ 9 ],\"candidates\":[]}"));
        assertTrue(h.getMessage().startsWith("\"history\" has more than 0 ids"), h.getMessage());
    }

    /** Two million ids against the default limit of 100,000: refused without parsing (or holding) the rest. */
    @Test
    void aHugeListIsRefusedWithoutGrowingPastTheLimit() {
        StringBuilder line = new StringBuilder("{\"user\":1,\"history\":[],\"candidates\":[");
        for (int i = 0; i < 2_000_000; i++) {
            line.append(i == 0 ? "" : ",").append(i % 10);
        }
        line.append("]}");
        RequestFormatException e = assertThrows(RequestFormatException.class, () -> parser.parse(line.toString()));
        assertTrue(e.getMessage().startsWith("\"candidates\" has more than 100000 ids"), e.getMessage());
    }

    /** The overflow message quotes the input: a carriage return after the digits must not break it in two. */
    @Test
    void quotedInputStaysOneLine() {
        RequestFormatException e = assertThrows(RequestFormatException.class,
                () -> parser.parse("{\"user\":99999999999999999999\r\u2028,\"history\":[],\"candidates\":[]}"));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(e.getMessage().contains("99999999999999999999\\u000d\\u2028"), e.getMessage());
    }
}
