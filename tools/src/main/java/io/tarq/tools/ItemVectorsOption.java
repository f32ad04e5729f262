package io.tarq.tools;

import io.tarq.engine.ItemVectors;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code --item-vectors}: what the candidate scans read for the two-tower term, for the commands that score. */
final class ItemVectorsOption {
    @Option(names = "--item-vectors", paramLabel = "KIND", defaultValue = "float32",
            description = "float32 (the model's rows, exact) or sq8 (an 8-bit copy built at open: a quarter of the bytes a "
                    + "candidate; TT and TARQ logits move by at most tau*|step|/2, TA stays exact) or records (a model with the cross head: "
                    + "item.vec and item.cross copied side by side at open, so TARQ reads both in one pass; exact) "
                    + "(default: ${DEFAULT-VALUE}).")
    String itemVectors;

    /** The choice, or a usage error naming the flag. */
    ItemVectors itemVectors(CommandSpec spec) {
        try {
            return ItemVectors.fromCliName(itemVectors);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--item-vectors " + e.getMessage());
        }
    }
}
