package io.tarq.jmh;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Synthetic models for benchmarks, written once and reused (a 10M-item model takes a minute and 5 GB). */
final class Models {
    private Models() {
    }

    static Path synthetic(SyntheticModelSpec spec) throws IOException {
        Path dir = Path.of(System.getProperty("tarq.jmh.models", "target/jmh-models"));
        // Every field of the spec that changes the bytes is in the name.
        Path file = dir.resolve("synth-" + spec.items() + "-u" + spec.users() + "-d" + spec.d() + "-h" + spec.heads()
                + "-dv" + spec.dv() + "-f" + spec.mlpHidden() + "-n" + spec.nMax() + "-L" + spec.levels() + "-K" + spec.codebookSize()
                + (spec.nullKeys() ? "-null" : "") + (spec.taMlpHidden() > 0 ? "-din" + spec.taMlpHidden() : "")
                + (spec.crossDim() > 0 ? "-x" + spec.crossDim() : "")
                + "-s" + spec.seed() + "-g" + SyntheticModel.GENERATOR_VERSION + ".safetensors");
        if (!Files.exists(file)) {
            SyntheticModel.write(spec, file);
        }
        return file;
    }
}
