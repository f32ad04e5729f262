package io.tarq.engine;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import java.io.IOException;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link ScorerRequestTest}'s request semantics, top-k, cascade, threads and lifecycle on a model with the cross head
 * (format version 2): every mode's extra term must keep them, ids and rows alike.
 */
class CrossHeadScorerRequestTest extends ScorerRequestTest {
    /** Hides the superclass's: JUnit runs only this one for this class. */
    @BeforeAll
    static void open() throws IOException {
        file = dir.resolve("cross.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(ITEMS).withUsers(USERS).withNMax(N_MAX).withNullKeys(true)
                .withCrossDim(12), file);
        model = TarqModel.open(file);
    }
}
