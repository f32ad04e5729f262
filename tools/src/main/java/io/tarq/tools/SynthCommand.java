package io.tarq.tools;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.layout.TarqDimensions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "synth", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a valid TARQ model with random weights, of any size, for tests and benchmarks.",
                "Item codes are computed by greedy residual quantization from the model's codebooks."})
final class SynthCommand implements Callable<Integer> {
    @Option(names = "--items", required = true, paramLabel = "N", description = "Catalog size N.")
    int items;

    @Option(names = "--out", required = true, paramLabel = "MODEL", description = "Where to write the model.")
    Path out;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--users", paramLabel = "U", defaultValue = "1000", description = "Users, row 0 the unknown one (default: ${DEFAULT-VALUE}).")
    int users;

    @Option(names = "--dim", paramLabel = "d", defaultValue = "64", description = "Embedding and attention width (default: ${DEFAULT-VALUE}).")
    int d;

    @Option(names = "--heads", paramLabel = "h", defaultValue = "4", description = "Attention heads (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--tower-dim", paramLabel = "dv", defaultValue = "64", description = "Tower output width (default: ${DEFAULT-VALUE}).")
    int dv;

    @Option(names = "--mlp-hidden", paramLabel = "f", defaultValue = "128", description = "User-MLP hidden width (default: ${DEFAULT-VALUE}).")
    int mlpHidden;

    @Option(names = "--n-max", paramLabel = "n", defaultValue = "100", description = "Longest history the model serves (default: ${DEFAULT-VALUE}).")
    int nMax;

    @Option(names = "--levels", paramLabel = "L", defaultValue = "3", description = "RQ levels (default: ${DEFAULT-VALUE}).")
    int levels;

    @Option(names = "--codebook", paramLabel = "K", defaultValue = "256", description = "Codewords per level (default: ${DEFAULT-VALUE}).")
    int codebookSize;

    @Option(names = "--null-keys", description = "Give both target attentions a null key (default: ${DEFAULT-VALUE}).")
    boolean nullKeys;

    @Option(names = "--ta-mlp", paramLabel = "f_ta", defaultValue = "0", description = "Hidden width of a DIN-style teacher head; 0 for the readout head (default: ${DEFAULT-VALUE}).")
    int taMlpHidden;

    @Option(names = "--cross-dim", paramLabel = "dx", defaultValue = "0", description = "Width of the cross head's "
            + "rows (format version 2); 0 for a version-1 model without it (default: ${DEFAULT-VALUE}).")
    int crossDim;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        StandardStreams.requireModelFile(spec, "--out", out);
        SyntheticModelSpec model = new SyntheticModelSpec(items, users, d, heads, dv, mlpHidden, nMax, levels,
                codebookSize, nullKeys, taMlpHidden, seed, crossDim);
        try {
            new TarqDimensions(d, heads, dv, mlpHidden, nMax, levels, codebookSize, items, users, crossDim);
        } catch (TarqDimensions.IllegalDimensionException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.key() + " " + e.getMessage());
        }
        if (crossDim > 0 && taMlpHidden > 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--cross-dim and --ta-mlp: a model has one teacher head, the cross head or the DIN-style one");
        }
        long start = System.nanoTime();
        SyntheticModel.write(model, out);
        spec.commandLine().getOut().printf(Locale.ROOT, "%s: synthetic TARQ model, %s items, seed %d, %s, written in %.1f s%n",
                out, Formats.count(items), seed, Formats.bytes(Files.size(out)), (System.nanoTime() - start) / 1e9);
        return TarqCli.EXIT_OK;
    }
}
