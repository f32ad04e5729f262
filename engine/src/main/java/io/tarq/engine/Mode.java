package io.tarq.engine;

/** How a scorer computes a candidate's logit (the contract's three models; TARQ in two table precisions). */
public enum Mode {
    /** The two-tower logit {@code s_TT = τ·⟨û, î⟩ + β}: one dot product a candidate. */
    TT,
    /**
     * {@code s_TT + Σ_l LUT_u[l][z_l(i)]} with the table quantized to uint8 (FAISS-style bias and scale): L byte
     * lookups a candidate. With the cross head (format version 2) it adds {@code ⟨Σ_l X[l, z_l(i)], q_i⟩} from the
     * float table X.
     */
    TARQ,
    /** As {@link #TARQ} with the float table {@code LUT_u}: the student without the table's quantization error. */
    TARQ_F32,
    /**
     * Exact target attention, the teacher: one attention over the history a candidate, its two-tower term from the
     * float {@code item.vec} rows whatever {@link ItemVectors} the model was opened with.
     */
    TA;

    /**
     * Returns the name the command line uses for this mode.
     *
     * @return {@code tt}, {@code tarq}, {@code tarq-f32} or {@code ta}
     */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /**
     * Returns the mode the command line names {@code name}, the inverse of {@link #cliName()}.
     *
     * @param name {@code tt}, {@code tarq}, {@code tarq-f32} or {@code ta} (case-sensitive)
     * @return the mode
     * @throws IllegalArgumentException {@code name} names no mode (null included)
     */
    public static Mode fromCliName(String name) {
        for (Mode m : values()) {
            if (m.cliName().equals(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown mode " + name + ": expected tt, tarq, tarq-f32 or ta");
    }
}
