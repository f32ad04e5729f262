package io.tarq.tools.jsonl;

/** A request line that is not {@code {"user": id, "history": [ids], "candidates": [ids]}}. */
public final class RequestFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Control characters the message quotes from the input are escaped: the message is always one line. */
    public RequestFormatException(String message) {
        super(io.tarq.layout.OneLine.of(message));
    }
}
