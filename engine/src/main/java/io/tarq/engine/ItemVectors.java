package io.tarq.engine;

/**
 * What the candidate scans of {@link Mode#TT}, {@link Mode#TARQ} and {@link Mode#TARQ_F32} read for the two-tower
 * term {@code s_TT = τ·⟨û, î⟩ + β}. Chosen when a model opens; exact TA (the {@link Mode#TA} mode and the re-scoring
 * of {@link Scorer#rescoreTopK}) always reads the float rows.
 */
public enum ItemVectors {
    /** The mapped {@code item.vec} rows: 4·dv bytes a candidate (256 B, four cache lines at dv = 64). Exact. */
    FLOAT32,
    /**
     * An 8-bit copy of {@code item.vec} built at open (FAISS's per-dimension scalar quantizer, {@code QT_8bit}):
     * dv bytes a candidate (one cache line at dv = 64), a quarter of the memory traffic of the float rows that
     * bound the scan from DRAM. The two-tower term then differs from the float one by at most
     * {@code τ·Σ_k |û_k|·step_k/2} ({@link QuantizedItemVectors}); costs dv bytes an item of heap-external memory.
     */
    SQ8,
    /**
     * For a model with the cross head (format version 2): a float copy of {@code item.vec} and {@code item.cross}
     * built at open, one record an item with the two rows side by side ({@code (dv + dx)·4} bytes an item of
     * heap-external memory; 320 B at dv = 64, dx = 16). TARQ then reads a candidate's rows in one pass instead of
     * two; the scores are exactly those of {@link #FLOAT32}. For a version-1 model it is {@link #FLOAT32}.
     */
    RECORDS;

    /**
     * Returns the name the command line uses for this choice.
     *
     * @return {@code float32}, {@code sq8} or {@code records}
     */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Returns the choice the command line names {@code name}, the inverse of {@link #cliName()}.
     *
     * @param name {@code float32}, {@code sq8} or {@code records} (case-sensitive)
     * @return the choice
     * @throws IllegalArgumentException {@code name} names no choice (null included)
     */
    public static ItemVectors fromCliName(String name) {
        for (ItemVectors v : values()) {
            if (v.cliName().equals(name)) {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown item vectors " + name + ": expected float32, sq8 or records");
    }
}
