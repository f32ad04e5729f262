package io.tarq.engine;

/**
 * A request over one of the {@link RequestLimits}: thrown before any work, naming the field, its size and the limit.
 * An {@link IllegalArgumentException}, like every other fault of a request.
 */
public final class RequestLimitException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    /** The request field over its limit. */
    private final String field;
    /** The field's size in the request. */
    private final long size;
    /** The limit it is over. */
    private final long limit;

    /**
     * Creates the exception; the message is {@code request <field>: <size> is over the limit of <limit>}.
     *
     * @param field the request field over its limit: "candidates", "history", "k" or "kPrime"
     * @param size  the field's size in the request
     * @param limit the limit it is over
     */
    public RequestLimitException(String field, long size, long limit) {
        super("request " + field + ": " + size + " is over the limit of " + limit);
        this.field = field;
        this.size = size;
        this.limit = limit;
    }

    /**
     * Returns the request field over its limit.
     *
     * @return "candidates", "history", "k" or "kPrime"
     */
    public String field() {
        return field;
    }

    /**
     * Returns the field's size in the refused request.
     *
     * @return the candidate count, history length or k
     */
    public long size() {
        return size;
    }

    /**
     * Returns the limit the request was over.
     *
     * @return the limit from {@link RequestLimits}
     */
    public long limit() {
        return limit;
    }
}
