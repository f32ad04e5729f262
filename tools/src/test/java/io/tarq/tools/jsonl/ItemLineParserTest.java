package io.tarq.tools.jsonl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class ItemLineParserTest {
    private final ItemLineParser parser = new ItemLineParser();

    @Test
    void parsesAnItemInAnyKeyOrderWith64BitIds() throws ItemFormatException {
        ItemLine item = parser.parse(" {\"attributes\" : [ 3 ,-9223372036854775808 ] ,\t\"id\":9007199254740993} ");
        assertEquals(9007199254740993L, item.id());
        assertArrayEquals(new long[] {3, Long.MIN_VALUE}, item.attributes());
        assertArrayEquals(new long[0], parser.parse("{\"id\": 1, \"attributes\": []}").attributes());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"id\": 1}|missing \"attributes\" at column 10",
            "{\"attributes\": []}|missing \"id\" at column 19",
            "{}|missing \"id\" at column 2",
            "{\"id\": 1, \"id\": 2, \"attributes\": []}|\"id\" appears twice at column 17",
            "{\"id\": 1, \"attributes\": [], \"x\": 0}|unknown key \"x\" (an item has \"id\" and \"attributes\") at column 34",
            "{\"id\": \"1\", \"attributes\": []}|\"id\" is not an integer id at column 8",
            "{\"id\": 1, \"attributes\": [2,]}|\"attributes[1]\" is not an integer id at column 28",
            "{\"id\": 1, \"attributes\": []} x|unexpected text after the item object at column 29",
            "{\"id\": 99999999999999999999}|\"id\" = 99999999999999999999}… does not fit a 64-bit id at column 27",
    })
    void rejectsAnythingElseSayingWhatAndWhere(String line, String message) {
        ItemFormatException e = assertThrows(ItemFormatException.class, () -> parser.parse(line));
        assertEquals(message, e.getMessage());
    }
}
