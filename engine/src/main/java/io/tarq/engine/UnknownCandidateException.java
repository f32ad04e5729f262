package io.tarq.engine;

/** A candidate id that is not in the model's catalog (and the caller did not ask to skip unknown candidates). */
public final class UnknownCandidateException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final long id;
    private final int position;

    public UnknownCandidateException(long id, int position) {
        super("candidate id " + id + " (position " + position + ") is not in the catalog");
        this.id = id;
        this.position = position;
    }

    /** The unknown external id. */
    public long id() {
        return id;
    }

    /** Its position in the request's candidate list. */
    public int position() {
        return position;
    }
}
