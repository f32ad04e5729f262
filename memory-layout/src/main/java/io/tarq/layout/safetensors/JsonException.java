package io.tarq.layout.safetensors;

/** Malformed JSON; {@link #position()} is the character offset where the parser gave up. */
final class JsonException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int position;
    private final String duplicateKey;
    private final int depth;

    JsonException(String message, int position) {
        this(message, position, null, 0);
    }

    JsonException(String message, int position, String duplicateKey, int depth) {
        super(message);
        this.position = position;
        this.duplicateKey = duplicateKey;
        this.depth = depth;
    }

    int position() {
        return position;
    }

    /** The repeated key, when the fault is a key that appears twice in one object; else null. */
    String duplicateKey() {
        return duplicateKey;
    }

    /** Object nesting depth of the duplicate key: 1 for the top-level object. */
    int depth() {
        return depth;
    }
}
