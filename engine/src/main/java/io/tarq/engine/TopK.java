package io.tarq.engine;

/**
 * The best k candidates of a request, best first: their positions in the request, catalog rows, external ids (when
 * the request had ids) and scores. Ties go to the lower position; skipped unknown candidates never appear. A reusable
 * holder: a scorer refills it without allocating once its capacity suffices.
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

    /** Entries filled, at most the k asked for (fewer when the request had fewer scorable candidates). */
    public int size() {
        return size;
    }

    /** Position in the request's candidate list of the {@code rank}-th best (0 = best). */
    public int position(int rank) {
        check(rank);
        return positions[rank];
    }

    public int row(int rank) {
        check(rank);
        return rows[rank];
    }

    /** External id of the {@code rank}-th best (−1 for requests given as rows). */
    public long id(int rank) {
        check(rank);
        return ids[rank];
    }

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
