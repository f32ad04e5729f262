package io.tarq.engine;

/** How a scorer computes a candidate's logit (the contract's three models; TARQ in two table precisions). */
public enum Mode {
    /** The two-tower logit {@code s_TT = τ·⟨û, î⟩ + β}: one dot product a candidate. */
    TT,
    /** {@code s_TT + Σ_l LUT_u[l][z_l(i)]} with the table quantized to uint8 (FAISS-style bias and scale). */
    TARQ,
    /** {@code s_TT + Σ_l LUT_u[l][z_l(i)]} with the float table. */
    TARQ_F32,
    /** Exact target attention, the teacher: one attention over the history a candidate. */
    TA;

    /** The name the command line uses: tt, tarq, tarq-f32, ta. */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    public static Mode fromCliName(String name) {
        for (Mode m : values()) {
            if (m.cliName().equals(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown mode " + name + ": expected tt, tarq, tarq-f32 or ta");
    }
}
