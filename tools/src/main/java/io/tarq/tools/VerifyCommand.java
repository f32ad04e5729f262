package io.tarq.tools;

import io.tarq.layout.TarqDimensions;
import io.tarq.layout.TarqModelFile;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check that MODEL is a valid TARQ model file.",
                "Prints one line and exits 0 when valid; prints one line on stderr naming the file, the tensor and "
                        + "the fault and exits 1 otherwise."})
final class VerifyCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "The model file (.safetensors).")
    Path model;

    @Option(names = "--full", description = "Also read every byte: codes < K, item.vec rows of unit length, no NaN "
            + "or infinity, attribute tables consistent, item.cross = W_x·item.emb + b_x within 1e-5 (default: "
            + "${DEFAULT-VALUE}).")
    boolean full;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        try (TarqModelFile file = TarqModelFile.open(model)) {
            if (full) {
                file.verifyContents();
            }
            TarqDimensions dims = file.dimensions();
            spec.commandLine().getOut().printf("%s: valid TARQ model, format %d (%s items, %s users, d=%d h=%d dv=%d "
                            + "L=%d K=%d%s; %d tensors, %s; %s)%n",
                    model, dims.formatVersion(), Formats.count(dims.items()), Formats.count(dims.users()),
                    dims.d(), dims.heads(), dims.dv(), dims.levels(), dims.codebookSize(),
                    dims.crossHead() ? " dx=" + dims.crossDim() : "",
                    file.safetensors().tensors().size(), Formats.bytes(file.safetensors().fileByteSize()),
                    full ? "contents checked" : "structure checked; --full also checks contents");
        }
        return TarqCli.EXIT_OK;
    }
}
