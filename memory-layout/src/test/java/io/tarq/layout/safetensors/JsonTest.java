package io.tarq.layout.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonTest {

    @Test
    void parsesEveryKindOfValue() throws JsonException {
        Object v = Json.parse(" {\"a\": [1, -2, 3.5, 1e3, true, false, null, \"x\\n\\u00e9\\\"\"], \"b\": {}} ");
        Map<?, ?> map = assertInstanceOf(Map.class, v);
        List<?> a = assertInstanceOf(List.class, map.get("a"));
        assertEquals(1L, a.get(0));
        assertEquals(-2L, a.get(1));
        assertEquals(3.5, a.get(2));
        assertEquals(1000.0, a.get(3));
        assertEquals(Boolean.TRUE, a.get(4));
        assertEquals(Boolean.FALSE, a.get(5));
        assertNull(a.get(6));
        assertEquals("x\né\"", a.get(7));
        assertEquals(Map.of(), map.get("b"));
    }

    @Test
    void surrogatePairEscapesDecode() throws JsonException {
        assertEquals("\uD83D\uDE00", Json.parse("\"\\ud83d\\ude00\""));
    }

    @Test
    void integersBeyondLongAreBigIntegers() throws JsonException {
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(new BigInteger("9223372036854775808"), Json.parse("9223372036854775808"));
        assertEquals(new BigInteger("123456789012345678901234567890"), Json.parse("123456789012345678901234567890"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "{", "{\"a\"}", "{\"a\":}", "[1,]", "[1 2]", "{\"a\":1,}", "01", "-", "1.", "1e",
            "\"abc", "\"\\x\"", "\"\\u12\"", "tru", "nul", "{} {}", "{'a':1}", "\"a\tb\"", "[1]]", "{\"a\":1 \"b\":2}",
            "\"\\ud800\"", "\"\\udc00x\"", "\"\\ud800\\u0041\""})
    void rejectsMalformedJson(String text) {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(text));
        assertTrue(e.getMessage().contains("at character"), e.getMessage());
    }

    @Test
    void rejectsDuplicateKeysAndSaysWhichAndHowDeep() {
        JsonException top = assertThrows(JsonException.class, () -> Json.parse("{\"t\":1,\"u\":2,\"t\":3}"));
        assertEquals("t", top.duplicateKey());
        assertEquals(1, top.depth());
        JsonException nested = assertThrows(JsonException.class, () -> Json.parse("{\"t\":{\"k\":1,\"k\":2}}"));
        assertEquals("k", nested.duplicateKey());
        assertEquals(2, nested.depth());
    }

    @Test
    void limitsNestingInsteadOfOverflowingTheStack() {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(deep));
        assertTrue(e.getMessage().contains("nesting"), e.getMessage());
        assertEquals(List.of(), flatten(assertDoesNotThrow("[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH))));
    }

    @Test
    void quoteRoundTripsAnyString() throws JsonException {
        Random random = new Random(7);
        for (int i = 0; i < 2000; i++) {
            StringBuilder s = new StringBuilder();
            int length = random.nextInt(20);
            for (int j = 0; j < length; j++) {
                s.append((char) (random.nextBoolean() ? random.nextInt(0x80) : random.nextInt(0xD000)));
            }
            assertEquals(s.toString(), Json.parse(Json.quote(s.toString())));
        }
    }

    private static Object assertDoesNotThrow(String text) {
        try {
            return Json.parse(text);
        } catch (JsonException e) {
            throw new AssertionError(e);
        }
    }

    private static List<?> flatten(Object nested) {
        Object v = nested;
        while (v instanceof List<?> l && l.size() == 1) {
            v = l.get(0);
        }
        return (List<?>) v;
    }
}
