package io.tarq.engine;

/**
 * The best k candidates of a request, best first: their positions in the request, catalog rows, external ids (when
 * the request had ids) and scores. Ties go to the lower position; skipped unknown candidates never appear. A reusable
 * holder: a scorer refills it without allocating once its capacity suffices, and grows it to the result's size
 * otherwise. Create one with {@code new TopK()} (empty, capacity 0).
 *
 * <p>Not thread-safe: a scorer writes it during a request, so give each concurrent request its own.
 */
public final class TopK {
    int size;
    int[] positions = new int[0];
    int[] rows = new int[0];
    long[] ids = new long[0];
    float[] scores = new float[0];

    /** An empty holder; its arrays grow to the largest k it is filled with. */
    public TopK() {
    }

    /**
     * Returns how many entries the last request filled.
     *
     * @return at most the k asked for; fewer when the request had fewer scorable candidates
     */
    public int size() {
        return size;
    }

    /**
     * Returns where the {@code rank}-th best candidate is in the request.
     *
     * @param rank 0 for the best, up to {@link #size()} − 1
     * @return its position in the request's candidate list
     * @throws IndexOutOfBoundsException {@code rank} is negative or not below {@link #size()}
     */
    public int position(int rank) {
        check(rank);
        return positions[rank];
    }

    /**
     * Returns the catalog row of the {@code rank}-th best candidate.
     *
     * @param rank 0 for the best, up to {@link #size()} − 1
     * @return its row in the model's item tensors
     * @throws IndexOutOfBoundsException {@code rank} is negative or not below {@link #size()}
     */
    public int row(int rank) {
        check(rank);
        return rows[rank];
    }

    /**
     * Returns the external id of the {@code rank}-th best candidate.
     *
     * @param rank 0 for the best, up to {@link #size()} − 1
     * @return its external id
     * @throws IndexOutOfBoundsException {@code rank} is negative or not below {@link #size()}
     */
    public long id(int rank) {
        check(rank);
        return ids[rank];
    }

    /**
     * Returns the logit of the {@code rank}-th best candidate: under the requested mode for
     * {@link Scorer#topK}, the TA logit for {@link Scorer#rescoreTopK}.
     *
     * @param rank 0 for the best, up to {@link #size()} − 1
     * @return its logit
     * @throws IndexOutOfBoundsException {@code rank} is negative or not below {@link #size()}
     */
    public float score(int rank) {
        check(rank);
        return scores[rank];
    }

    void ensureCapacity(int k) {
        if (positions.length < k) {
            positions = new int[k];
            rows = new int[k];
            ids = new long[k];
            scores = new float[k];
        }
    }

    private void check(int rank) {
        if (rank < 0 || rank >= size) {
            throw new IndexOutOfBoundsException("rank " + rank + " of a top-k holding " + size);
        }
    }
}
