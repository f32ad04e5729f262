package io.tarq.tools.jsonl;

/** A request line that is not {@code {"user": id, "history": [ids], "candidates": [ids]}}. */
public final class RequestFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    public RequestFormatException(String message) {
        super(message);
    }
}
