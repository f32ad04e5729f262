package io.tarq.tools;

import io.tarq.engine.catalog.CatalogEncoder;
import io.tarq.engine.catalog.ItemEncoder;
import io.tarq.layout.IdIndex;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import io.tarq.tools.jsonl.ItemFormatException;
import io.tarq.tools.jsonl.ItemLine;
import io.tarq.tools.jsonl.ItemLineParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "encode-items", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Add or replace catalog items from their raw features, with the model's item tower and greedy "
                + "residual quantization: a catalog grows without retraining.",
                "Each input line: {\"id\": item id, \"attributes\": [external attribute ids, as in item.attr.ids]}; "
                        + "blank lines are skipped; an empty list is allowed.",
                "An id already in the catalog is replaced in place: its id embedding E_item = item.emb − mean(its old "
                        + "attributes' embeddings) is kept and the new attributes' mean added. A new id is appended "
                        + "after the last row, in input order, with E_item = 0 (cold start): e = mean(attribute "
                        + "embeddings), the zero vector when it has none.",
                "item.vec = normalize(MLP_item(e)), item.codes = greedy RQ of e; every other tensor is copied. The "
                        + "model must have item.mlp.* and item.attr.* (./tarq train writes both). The output appears "
                        + "only when complete (it may be MODEL itself)."})
final class EncodeItemsCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "The model file (.safetensors).")
    Path model;

    @Option(names = "--items", required = true, paramLabel = "ITEMS.jsonl",
            description = "Items, one JSON object a line; - reads stdin.")
    Path items;

    @Option(names = "--out", required = true, paramLabel = "NEW_MODEL", description = "Where to write the new model.")
    Path out;

    @ParentCommand
    TarqCli cli;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        StandardStreams.requireModelFile(spec, "--out", out);
        long start = System.nanoTime();
        CatalogEncoder.Result result;
        try (TarqModelFile tarq = TarqModelFile.open(model); Arena scratch = Arena.ofConfined()) {
            ItemEncoder.of(tarq); // names a missing item tower or attribute table before the input is read
            IdIndex attributes = IdIndex.build(tarq.path(), tarq.tensor(TarqTensors.ITEM_ATTR_IDS), null, scratch);
            List<CatalogEncoder.Item> list = new ArrayList<>();
            List<Integer> lines = new ArrayList<>();
            read(attributes, list, lines);
            checkDistinct(list, lines);
            try {
                result = CatalogEncoder.write(tarq, list, out, producer(tarq.producer()));
            } catch (CatalogEncoder.ItemException e) {
                throw new IOException(itemsName() + ": line " + lines.get(e.index()) + ": " + e.getMessage(), e);
            }
        }
        spec.commandLine().getOut().printf(Locale.ROOT,
                "%s: %s items replaced, %s added (%s of them without attributes: e = 0), N = %s, written in %.1f s%n",
                out, Formats.count(result.replaced()), Formats.count(result.added()),
                Formats.count(result.addedWithoutAttributes()), Formats.count(result.items()),
                (System.nanoTime() - start) / 1e9);
        return TarqCli.EXIT_OK;
    }

    private void read(IdIndex attributes, List<CatalogEncoder.Item> list, List<Integer> lines) throws IOException {
        ItemLineParser parser = new ItemLineParser();
        try (BufferedReader in = StandardStreams.reader(items, cli.stdin())) {
            String text;
            int lineNumber = 0;
            while ((text = in.readLine()) != null) {
                lineNumber++;
                if (text.isBlank()) {
                    continue;
                }
                ItemLine item;
                try {
                    item = parser.parse(text);
                } catch (ItemFormatException e) {
                    throw new IOException(itemsName() + ": line " + lineNumber + ": " + e.getMessage());
                }
                int[] rows = new int[item.attributes().length];
                for (int a = 0; a < rows.length; a++) {
                    rows[a] = attributes.row(item.attributes()[a]);
                    if (rows[a] == IdIndex.MISSING) {
                        throw new IOException(itemsName() + ": line " + lineNumber + ": item id " + item.id() + ": attribute id "
                                + item.attributes()[a] + " at attributes[" + a + "] is not in the model's item.attr.ids");
                    }
                }
                list.add(new CatalogEncoder.Item(item.id(), rows));
                lines.add(lineNumber);
            }
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IOException(itemsName() + ": not UTF-8 text");
        }
    }

    /** Sorting finds whether an id repeats without a map over every id; only repeated ids are then looked up. */
    private void checkDistinct(List<CatalogEncoder.Item> list, List<Integer> lines) throws IOException {
        long[] ids = new long[list.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = list.get(i).id();
        }
        long[] sorted = ids.clone();
        Arrays.sort(sorted);
        Set<Long> repeated = new HashSet<>();
        for (int i = 1; i < sorted.length; i++) {
            if (sorted[i] == sorted[i - 1]) {
                repeated.add(sorted[i]);
            }
        }
        if (repeated.isEmpty()) {
            return;
        }
        Map<Long, Integer> first = new HashMap<>();
        for (int i = 0; i < ids.length; i++) {
            if (repeated.contains(ids[i])) {
                Integer earlier = first.putIfAbsent(ids[i], i);
                if (earlier != null) {
                    throw new IOException(itemsName() + ": lines " + lines.get(earlier) + " and " + lines.get(i)
                            + " both give item id " + ids[i]);
                }
            }
        }
    }

    private String itemsName() {
        return StandardStreams.inputName(items);
    }

    /** Names this command and the model's first producer (not a growing chain of encode-items runs). */
    static String producer(String base) {
        String marker = " (base: ";
        int at = base.indexOf(marker);
        String original = at >= 0 && base.endsWith(")") ? base.substring(at + marker.length(), base.length() - 1) : base;
        String v = EncodeItemsCommand.class.getPackage().getImplementationVersion();
        return "tarq encode-items " + (v == null ? "dev" : v) + " (base: " + original + ")";
    }
}
