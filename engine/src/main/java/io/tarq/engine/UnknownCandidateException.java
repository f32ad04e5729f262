package io.tarq.engine;

/** A candidate id that is not in the model's catalog (and the caller did not ask to skip unknown candidates). */
public final class UnknownCandidateException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    /** The unknown external id. */
    private final long id;
    /** Its position in the request's candidate list, from 0. */
    private final int position;

    /**
     * Creates the exception; the message names the id and its position as an array index,
     * {@code candidate id 31337 at candidates[1] is not in the catalog}, counted from 0 as the command line's
     * messages count it.
     *
     * @param id       the unknown external id
     * @param position its position in the request's candidate list, from 0
     */
    public UnknownCandidateException(long id, int position) {
        super("candidate id " + id + " at candidates[" + position + "] is not in the catalog");
        this.id = id;
        this.position = position;
    }

    /**
     * Returns the unknown candidate's id.
     *
     * @return the external id
     */
    public long id() {
        return id;
    }

    /**
     * Returns where the unknown id is in the request; the first unknown one is reported.
     *
     * @return its position in the request's candidate list, from 0 (relative to the offset of an offset/length
     *         overload)
     */
    public int position() {
        return position;
    }
}
