package io.tarq.tools;

import io.tarq.layout.IdIndex;
import io.tarq.layout.TarqDimensions;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import io.tarq.layout.safetensors.TensorView;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a model's dimensions, optional parts, producer, metadata and tensors.")
final class InspectCommand implements Callable<Integer> {
    private static final Set<String> DIMENSION_KEYS = Set.of("format", "format_version", "d", "heads", "dv",
            "mlp_hidden", "n_max", "levels", "codebook_size", "items", "users", "cross_dim", "producer");
    private static final int LOOKUPS_PER_REQUEST = 5000;

    @Parameters(index = "0", paramLabel = "MODEL", description = "The model file (.safetensors).")
    Path model;

    @Option(names = "--timing", description = "Also measure open time, resident memory after opening, and the cost of "
            + "resolving 5000 random candidate ids (default: ${DEFAULT-VALUE}).")
    boolean timing;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        long rssBefore = residentBytes();
        long start = System.nanoTime();
        try (TarqModelFile file = TarqModelFile.open(model)) {
            long openNanos = System.nanoTime() - start;
            long rssAfter = residentBytes();
            describe(file, out);
            if (timing) {
                timing(file, out, openNanos, rssBefore, rssAfter);
            }
        }
        return TarqCli.EXIT_OK;
    }

    private void describe(TarqModelFile file, PrintWriter out) {
        TarqDimensions dims = file.dimensions();
        TarqTensors.Features features = file.features();
        out.printf("%s%n", model);
        out.printf("  producer      %s%n", file.producer());
        out.printf("  format        %s %s, %s%n", TarqDimensions.FORMAT, file.metadata().get("format_version"),
                Formats.bytes(file.safetensors().fileByteSize()));
        out.printf("  catalog       N = %s items, U = %s users (row 0 = unknown user)%n",
                Formats.count(dims.items()), Formats.count(dims.users()));
        out.printf("  widths        d = %d, h = %d (dh = %d), dv = %d, f = %d, n_max = %d%n",
                dims.d(), dims.heads(), dims.headDim(), dims.dv(), dims.mlpHidden(), dims.nMax());
        out.printf("  codebook      L = %d levels × K = %d codewords%n", dims.levels(), dims.codebookSize());
        out.printf("  teacher head  %s%n", dims.crossHead()
                ? "cross (dx = " + dims.crossDim() + "): readout + ⟨A·t, q_i⟩, the student's likewise"
                : features.dinTeacherHead() ? "DIN-style MLP (f_ta = " + features.taMlpHidden() + ")" : "readout");
        out.printf("  null keys     teacher %s, student %s%n", yesNo(features.taNullKey()), yesNo(features.rqNullKey()));
        out.printf("  item encoder  %s%n", features.itemTower()
                ? "item tower (f_i = " + features.itemMlpHidden() + "), " + features.attributes() + " attributes"
                : "absent (encode-items unavailable)");
        out.printf("  kernels       %s%n", io.tarq.engine.TarqRuntime.kernels());
        out.printf("  id index      %s in memory (%s items, %s users), built at open%n",
                Formats.bytes(file.itemIndex().byteSize() + file.userIndex().byteSize()),
                Formats.count(file.itemIndex().size()), Formats.count(file.userIndex().size()));
        Map<String, String> extra = new java.util.LinkedHashMap<>(file.metadata());
        extra.keySet().removeAll(DIMENSION_KEYS);
        if (!extra.isEmpty()) {
            out.println("  metadata");
            extra.forEach((k, v) -> out.printf("    %-22s %s%n", k, abbreviate(v, 100)));
        }
        out.println("  tensors");
        for (TensorView t : file.safetensors().tensors()) {
            out.printf("    %-22s %-4s %-18s %12s%n", t.name(), t.dtype(), Arrays.toString(t.shape()),
                    Formats.bytes(t.byteSize()));
        }
    }

    private void timing(TarqModelFile file, PrintWriter out, long openNanos, long rssBefore, long rssAfter)
            throws IOException {
        out.println("  timing (rough, one process; docs/benchmarks.md has the JMH figures)");
        out.printf(Locale.ROOT, "    first open            %.1f ms (map, header, checks, id indexes)%n", openNanos / 1e6);
        long[] reopen = new long[5];
        for (int i = 0; i < reopen.length; i++) {
            long start = System.nanoTime();
            try (TarqModelFile again = TarqModelFile.open(model)) {
                reopen[i] = System.nanoTime() - start + (again.isOpen() ? 0 : 1);
            }
        }
        Arrays.sort(reopen);
        out.printf(Locale.ROOT, "    open, warm (median 5) %.1f ms%n", reopen[reopen.length / 2] / 1e6);
        if (rssBefore > 0) {
            out.printf("    resident after open   +%s (id indexes %s off the heap; id tensors %s mapped)%n",
                    Formats.bytes(rssAfter - rssBefore),
                    Formats.bytes(file.itemIndex().byteSize() + file.userIndex().byteSize()),
                    Formats.bytes(file.tensor(TarqTensors.ITEM_IDS).byteSize() + file.tensor(TarqTensors.USER_IDS).byteSize()));
        }
        IdIndex index = file.itemIndex();
        TensorView ids = file.tensor(TarqTensors.ITEM_IDS);
        SplittableRandom random = new SplittableRandom(7);
        long[] candidates = new long[LOOKUPS_PER_REQUEST];
        int[] rows = new int[LOOKUPS_PER_REQUEST];
        int requests = 2000;
        long[] perRequest = new long[requests];
        long checksum = 0;
        for (int r = -requests; r < requests; r++) { // the first half warms up the JIT
            for (int i = 0; i < candidates.length; i++) {
                candidates[i] = ids.getLong(random.nextInt(index.size()));
            }
            long start = System.nanoTime();
            checksum += index.rows(candidates, 0, candidates.length, rows);
            long elapsed = System.nanoTime() - start;
            checksum += rows[r & 1023];
            if (r >= 0) {
                perRequest[r] = elapsed;
            }
        }
        Arrays.sort(perRequest);
        out.printf(Locale.ROOT, "    resolve %d ids       median %.1f µs (%.1f ns an id), p99 %.1f µs [checksum %d]%n",
                LOOKUPS_PER_REQUEST, perRequest[requests / 2] / 1e3, perRequest[requests / 2] / (double) LOOKUPS_PER_REQUEST,
                perRequest[requests * 99 / 100] / 1e3, checksum);
    }

    /** VmRSS of this process from /proc (0 where there is no /proc). */
    private static long residentBytes() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return 0;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return 0;
    }

    private static String yesNo(boolean b) {
        return b ? "yes" : "no";
    }

    private static String abbreviate(String s, int max) {
        String oneLine = s.replace('\n', ' ');
        return oneLine.length() <= max ? oneLine : oneLine.substring(0, max - 1) + "…";
    }
}
