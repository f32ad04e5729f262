package io.tarq.tools.jsonl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.Mode;
import io.tarq.engine.RequestLimits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ServeRequestParserTest {
    private final ServeRequestParser parser = new ServeRequestParser(RequestLimits.DEFAULT, 3);

    @Test
    void anObjectIsOneRequestWithDefaults() throws RequestFormatException {
        ServeRequestParser.Body body = parser.parse(" {\"candidates\": [3, -5], \"user\": 7, \"history\": [1]} ");
        assertFalse(body.batch());
        ServeRequest r = body.requests().get(0);
        assertEquals(7, r.user());
        assertArrayEquals(new long[] {1}, r.history());
        assertArrayEquals(new long[] {3, -5}, r.candidates());
        assertEquals(Mode.TARQ, r.mode());
        assertEquals(ServeRequest.ABSENT, r.k());
        assertFalse(r.cascade());
        assertFalse(r.skipUnknown());
        assertEquals("tarq", r.label());
    }

    @Test
    void anArrayIsABatchWithEveryOptionalKey() throws RequestFormatException {
        ServeRequestParser.Body body = parser.parse("[{\"user\":1,\"history\":[],\"candidates\":[1],\"mode\":\"tarq-f32\",\"k\":0},"
                + " {\"user\":2,\"history\":[],\"candidates\":[2],\"k\":5,\"rescore\":50,\"skip_unknown\":true}]");
        assertTrue(body.batch());
        assertEquals(2, body.requests().size());
        assertEquals(Mode.TARQ_F32, body.requests().get(0).mode());
        assertEquals(0, body.requests().get(0).k());
        ServeRequest cascade = body.requests().get(1);
        assertTrue(cascade.cascade());
        assertEquals(50, cascade.rescore());
        assertTrue(cascade.skipUnknown());
        assertEquals("cascade", cascade.label());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "[]| empty batch at column 2",
            "{\"user\":1,\"history\":[],\"candidates\":[],\"mode\":\"TT\"}| \"mode\": unknown mode TT: expected tt, tarq, tarq-f32 or ta at column 47",
            "{\"user\":1,\"history\":[],\"candidates\":[],\"mode\":7}| \"mode\" is not a string at column 47",
            "{\"user\":1,\"history\":[],\"candidates\":[],\"k\":-1}| \"k\" = -1 is not a count from 0 to 2147483647 at column 44",
            "{\"user\":1,\"history\":[],\"candidates\":[],\"skip_unknown\":1}| \"skip_unknown\" is not true or false at column 55",
            "{\"user\":1,\"history\":[],\"candidates\":[],\"k\":1,\"k\":2}| \"k\" appears twice at column 50",
            "{\"user\":1,\"history\":[],\"candidates\":[],\"rescore\":9,\"mode\":\"ta\"}| \"rescore\" asks for the TARQ → TA cascade: \"mode\" must be tarq or absent at column 64",
            "{\"user\":1,\"history\":[]}| missing \"candidates\" at column 24",
            "[{\"user\":1,\"history\":[],\"candidates\":[]}]x| unexpected text after the request at column 42",
            "[{\"user\":1,\"history\":[],\"candidates\":[]} {}]| expected ',' or ']' in the batch at column 42",
    })
    void faultsSayWhatAndWhere(String body, String message) {
        assertEquals(message.strip(), assertThrows(RequestFormatException.class, () -> parser.parse(body)).getMessage());
    }

    @Test
    void batchesAndListsStopAtTheirLimits() {
        String one = "{\"user\":1,\"history\":[],\"candidates\":[1]}";
        assertTrue(assertThrows(RequestFormatException.class, () -> parser.parse("[" + one + "," + one + "," + one + "," + one + "]"))
                .getMessage().startsWith("the batch has more than 3 requests, the limit"));
        ServeRequestParser small = new ServeRequestParser(new RequestLimits(2, 1, 2), 1);
        assertTrue(assertThrows(RequestFormatException.class, () -> small.parse("{\"user\":1,\"history\":[],\"candidates\":[1,2,3]}"))
                .getMessage().contains("more than 2 ids, the request limit"));
    }
}
