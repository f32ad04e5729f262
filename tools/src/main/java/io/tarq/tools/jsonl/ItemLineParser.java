package io.tarq.tools.jsonl;

/**
 * Parses one item line, {@code {"id": id, "attributes": [ids]}}, as strictly as {@link RequestLineParser}: both keys
 * exactly once, in any order, 64-bit integer ids. {@code "attributes"} may be empty.
 */
public final class ItemLineParser extends JsonLineScanner<ItemFormatException> {
    // The members of the line being parsed (null until read).
    private Long id;
    private long[] attributes;

    /** Parses {@code line}; the parser may be reused, it is not thread-safe. */
    public ItemLine parse(String line) throws ItemFormatException {
        start(line);
        id = null;
        attributes = null;
        object("item", "id", this::member);
        if (id == null) {
            throw error("missing \"id\"");
        }
        if (attributes == null) {
            throw error("missing \"attributes\"");
        }
        return new ItemLine(id, attributes);
    }

    private void member(String key) throws ItemFormatException {
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
    }

    @Override
    ItemFormatException newException(String message) {
        return new ItemFormatException(message);
    }
}
