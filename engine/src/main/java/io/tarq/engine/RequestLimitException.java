package io.tarq.engine;

/**
 * A request over one of the {@link RequestLimits}: thrown before any work, naming the field, its size and the limit.
 * An {@link IllegalArgumentException}, like every other fault of a request.
 */
public final class RequestLimitException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final String field;
    private final long size;
    private final long limit;

    public RequestLimitException(String field, long size, long limit) {
        super("request " + field + ": " + size + " is over the limit of " + limit);
        this.field = field;
        this.size = size;
        this.limit = limit;
    }

    /** "candidates", "history", "k" or "kPrime". */
    public String field() {
        return field;
    }

    public long size() {
        return size;
    }

    public long limit() {
        return limit;
    }
}
