package io.tarq.tools.jsonl;

/**
 * Parses one item line, {@code {"id": id, "attributes": [ids]}}, as strictly as {@link RequestLineParser}: both keys
 * exactly once, in any order, 64-bit integer ids. {@code "attributes"} may be empty.
 */
public final class ItemLineParser extends JsonLineScanner<ItemFormatException> {
    /** Parses {@code line}; the parser may be reused, it is not thread-safe. */
    public ItemLine parse(String line) throws ItemFormatException {
        start(line);
        Long id = null;
        long[] attributes = null;
        skipWhitespace();
        expect('{');
        skipWhitespace();
        if (peek() == '}') {
            throw error("missing \"id\"");
        }
        while (true) {
            skipWhitespace();
            String key = key();
            skipWhitespace();
            expect(':');
            skipWhitespace();
            switch (key) {
                case "id" -> {
                    if (id != null) {
                        throw error("\"id\" appears twice");
                    }
                    id = integer("id");
                }
                case "attributes" -> {
                    if (attributes != null) {
                        throw error("\"attributes\" appears twice");
                    }
                    attributes = integers("attributes");
                }
                default -> throw error("unknown key \"" + key + "\" (an item has \"id\" and \"attributes\")");
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
            throw error("unexpected text after the item object");
        }
        if (id == null) {
            throw error("missing \"id\"");
        }
        if (attributes == null) {
            throw error("missing \"attributes\"");
        }
        return new ItemLine(id, attributes);
    }

    @Override
    ItemFormatException newException(String message) {
        return new ItemFormatException(message);
    }
}
