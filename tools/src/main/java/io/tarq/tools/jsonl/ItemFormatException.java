package io.tarq.tools.jsonl;

/** An item line that is not {@code {"id": id, "attributes": [ids]}}. */
public final class ItemFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    public ItemFormatException(String message) {
        super(message);
    }
}
