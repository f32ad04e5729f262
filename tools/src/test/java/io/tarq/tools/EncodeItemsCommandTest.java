package io.tarq.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.Mode;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.engine.quantize.GreedyResidualQuantizer;
import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.layout.Layouts;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import io.tarq.layout.safetensors.TensorView;
import io.tarq.tools.TarqCliTest.Run;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code ./tarq encode-items} on the engine's parity fixtures: models trained and exported by {@code tarq.train}
 * (item tower and attributes included), so that "equal to the trainer's export" is checked against PyTorch's own
 * numbers. The Java-against-Python check on new items is {@code EncodeItemsInteropTest}.
 */
class EncodeItemsCommandTest {
    @TempDir
    Path dir;

    static Path fixture(String name) {
        return Path.of(System.getProperty("tarq.root", "..")).resolve("engine/src/test/resources/parity/" + name + ".safetensors");
    }

    static Run run(String... args) {
        return TarqCliTest.run(args);
    }

    /** The catalog's own items with their own attributes, as external ids, one JSONL line each. */
    static String ownItems(TarqModelFile model) {
        TensorView ids = model.tensor(TarqTensors.ITEM_IDS);
        TensorView attrIds = model.tensor(TarqTensors.ITEM_ATTR_IDS);
        TensorView offsets = model.tensor(TarqTensors.ITEM_ATTR_OFFSETS);
        TensorView values = model.tensor(TarqTensors.ITEM_ATTR_VALUES);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < ids.dim(0); i++) {
            out.append("{\"id\": ").append(ids.getLong(i)).append(", \"attributes\": [");
            for (long a = offsets.getLong(i); a < offsets.getLong(i + 1); a++) {
                out.append(a == offsets.getLong(i) ? "" : ", ").append(attrIds.getLong(values.getLong(a)));
            }
            out.append("]}\n");
        }
        return out.toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"readout", "din", "cross"})
    void reEncodingTheCatalogWithItsOwnAttributesReproducesTheTrainersExport(String name) throws IOException {
        Path model = fixture(name);
        Path items = dir.resolve("own.jsonl");
        Path out = dir.resolve("re-encoded.safetensors");
        try (TarqModelFile original = TarqModelFile.open(model)) {
            Files.writeString(items, ownItems(original));
        }
        Run r = run("encode-items", model.toString(), "--items", items.toString(), "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("160 items replaced, 0 added"), r.out());
        assertEquals(0, run("verify", "--full", out.toString()).exit());

        try (TarqModelFile original = TarqModelFile.open(model); TarqModelFile encoded = TarqModelFile.open(out)) {
            // e: E_item is recovered and the same mean added back, in double: the exported rows, bit for bit.
            assertArrayEquals(floats(original, TarqTensors.ITEM_EMB), floats(encoded, TarqTensors.ITEM_EMB));
            float[] vec = floats(original, TarqTensors.ITEM_VEC), encodedVec = floats(encoded, TarqTensors.ITEM_VEC);
            assertEquals(0, maxAbsDifference(vec, encodedVec), 1e-5, "item.vec: PyTorch's float32 tower against double");
            // Greedy RQ of the same e: the engine's quantizer and the exporter's agree on every code of these models.
            assertArrayEquals(bytes(original, TarqTensors.ITEM_CODES), bytes(encoded, TarqTensors.ITEM_CODES));
            if (original.dimensions().crossHead()) {
                float[] cross = floats(original, TarqTensors.ITEM_CROSS), encodedCross = floats(encoded, TarqTensors.ITEM_CROSS);
                assertEquals(0, maxAbsDifference(cross, encodedCross), 1e-5, "item.cross: PyTorch's float32 W_x·e + b_x against double");
            }
            for (TensorView t : original.safetensors().tensors()) {
                if (!Set.of(TarqTensors.ITEM_VEC, TarqTensors.ITEM_EMB, TarqTensors.ITEM_CROSS).contains(t.name())) {
                    assertEquals(t.segment().mismatch(encoded.tensor(t.name()).segment()), -1, t.name() + " unchanged");
                }
            }
            assertEquals(original.metadata().get("dataset"), encoded.metadata().get("dataset"), "other metadata kept");
            assertEquals("tarq encode-items dev (base: " + original.producer() + ")", encoded.producer());
        }
    }

    @Test
    void replacesInPlaceAppendsNewItemsInInputOrderAndTheEngineScoresThem() throws IOException {
        Path model = fixture("readout");
        Path out = dir.resolve("grown.safetensors");
        Path items = dir.resolve("items.jsonl");
        long newWithAttributes = 9_000_000_001L, newWithout = -5;
        long replaced, replacedEmpty, untouched;
        long[] attrIds;
        int n;
        try (TarqModelFile m = TarqModelFile.open(model)) {
            n = m.dimensions().items();
            replaced = m.tensor(TarqTensors.ITEM_IDS).getLong(3);
            replacedEmpty = m.tensor(TarqTensors.ITEM_IDS).getLong(5);
            untouched = m.tensor(TarqTensors.ITEM_IDS).getLong(7);
            attrIds = m.tensor(TarqTensors.ITEM_ATTR_IDS).toLongArray();
        }
        Files.writeString(items, "{\"id\": " + newWithAttributes + ", \"attributes\": [" + attrIds[0] + ", " + attrIds[3] + "]}\n"
                + "\n"
                + "{\"attributes\": [" + attrIds[1] + ", " + attrIds[2] + ", " + attrIds[1] + "], \"id\": " + replaced + "}\n"
                + "{\"id\": " + newWithout + ", \"attributes\": []}\n"
                + "{\"id\": " + replacedEmpty + ", \"attributes\": []}\n");
        Run r = run("encode-items", model.toString(), "--items", items.toString(), "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("2 items replaced, 2 added (1 of them without attributes: e = 0), N = 162"), r.out());
        Run verify = run("verify", "--full", out.toString());
        assertEquals(0, verify.exit(), verify.err());

        try (TarqModelFile before = TarqModelFile.open(model); TarqModelFile after = TarqModelFile.open(out)) {
            assertEquals(n + 2, after.dimensions().items());
            assertEquals(Integer.toString(n + 2), after.metadata().get("items"));
            long[] ids = after.tensor(TarqTensors.ITEM_IDS).toLongArray();
            long[] oldIds = before.tensor(TarqTensors.ITEM_IDS).toLongArray();
            assertArrayEquals(oldIds, Arrays.copyOf(ids, n), "replaced items keep their rows");
            assertEquals(newWithAttributes, ids[n]);
            assertEquals(newWithout, ids[n + 1]);

            // The CSR: rows 3 and 5 replaced, two rows appended, everything else as it was.
            List<long[]> lists = attributeLists(after), oldLists = attributeLists(before);
            for (int i = 0; i < n; i++) {
                if (i != 3 && i != 5) {
                    assertArrayEquals(oldLists.get(i), lists.get(i), "row " + i);
                }
            }
            assertArrayEquals(new long[] {1, 2, 1}, lists.get(3), "a bag: a repeated attribute counts twice");
            assertArrayEquals(new long[0], lists.get(5));
            assertArrayEquals(new long[] {0, 3}, lists.get(n));
            assertArrayEquals(new long[0], lists.get(n + 1));

            // e, independently: E_item = emb − mean(old), plus mean(new).
            float[] attrEmb = floats(before, TarqTensors.ITEM_ATTR_EMB);
            int d = before.dimensions().d();
            double[] expected3 = row(before, TarqTensors.ITEM_EMB, 3);
            subtract(expected3, mean(attrEmb, d, oldLists.get(3)));
            add(expected3, mean(attrEmb, d, new long[] {1, 2, 1}));
            double[] expected5 = row(before, TarqTensors.ITEM_EMB, 5);
            subtract(expected5, mean(attrEmb, d, oldLists.get(5)));
            double[][] expected = {expected3, expected5, mean(attrEmb, d, new long[] {0, 3}), new double[d]};
            int[] rows = {3, 5, n, n + 1};
            GreedyResidualQuantizer rq = new GreedyResidualQuantizer(floats(before, TarqTensors.RQ_CODEBOOKS),
                    before.dimensions().levels(), before.dimensions().codebookSize(), d);
            for (int k = 0; k < rows.length; k++) {
                double[] e = row(after, TarqTensors.ITEM_EMB, rows[k]);
                for (int j = 0; j < d; j++) {
                    assertEquals(expected[k][j], e[j], 1e-6, "item.emb row " + rows[k]);
                }
                double[] vec = tower(before, e);
                double[] got = row(after, TarqTensors.ITEM_VEC, rows[k]);
                for (int j = 0; j < vec.length; j++) {
                    assertEquals(vec[j], got[j], 1e-5, "item.vec row " + rows[k]);
                }
                float[] ef = new float[d];
                for (int j = 0; j < d; j++) {
                    ef[j] = (float) e[j];
                }
                byte[] codes = new byte[before.dimensions().levels()];
                rq.encode(ef, 0, codes, 0, 1, new float[d]);
                for (int l = 0; l < codes.length; l++) {
                    assertEquals(Byte.toUnsignedInt(codes[l]), after.tensor(TarqTensors.ITEM_CODES).getUnsignedByte((long) l * (n + 2) + rows[k]));
                }
            }
            assertTrue(Arrays.stream(row(after, TarqTensors.ITEM_EMB, n + 1)).allMatch(v -> v == 0), "cold start, no attributes: e = 0");
        }

        // The engine serves the new file: new items score like any other, untouched ones exactly as before.
        long user = 5;
        long[] history;
        try (TarqModelFile m = TarqModelFile.open(model)) {
            history = new long[] {m.tensor(TarqTensors.ITEM_IDS).getLong(10), m.tensor(TarqTensors.ITEM_IDS).getLong(11)};
            user = m.tensor(TarqTensors.USER_IDS).getLong(4);
        }
        try (TarqModel before = TarqModel.open(model); TarqModel after = TarqModel.open(out)) {
            Scorer oldScorer = before.newScorer(), newScorer = after.newScorer();
            for (Mode mode : Mode.values()) {
                float[] grown = new float[4];
                newScorer.score(mode, user, history, new long[] {newWithAttributes, newWithout, untouched, replaced}, grown);
                for (float s : grown) {
                    assertTrue(Float.isFinite(s), mode + " " + Arrays.toString(grown));
                }
                float[] old = new float[1];
                oldScorer.score(mode, user, history, new long[] {untouched}, old);
                float[] single = new float[1];
                newScorer.score(mode, user, history, new long[] {untouched}, single);
                assertEquals(old[0], single[0], 0f, mode + ": an untouched item scores as before");
            }
            var top = newScorer.topK(Mode.TARQ, user, history, new long[] {newWithAttributes, untouched}, 2, new io.tarq.engine.TopK());
            assertEquals(2, top.size());
        }
    }

    @Test
    void anEncodedModelCanBeEncodedAgainWithoutGrowingItsProducer() throws IOException {
        Path once = dir.resolve("once.safetensors"), twice = dir.resolve("twice.safetensors");
        Path items = Files.writeString(dir.resolve("one.jsonl"), "{\"id\": 77777777, \"attributes\": []}\n");
        assertEquals(0, run("encode-items", fixture("readout").toString(), "--items", items.toString(), "--out", once.toString()).exit());
        Path more = Files.writeString(dir.resolve("two.jsonl"), "{\"id\": 77777778, \"attributes\": []}\n{\"id\": 77777777, \"attributes\": []}\n");
        Run r = run("encode-items", once.toString(), "--items", more.toString(), "--out", twice.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("1 items replaced, 1 added"), r.out());
        try (TarqModelFile a = TarqModelFile.open(once); TarqModelFile b = TarqModelFile.open(twice)) {
            assertEquals(a.producer(), b.producer());
            assertEquals(162, b.dimensions().items());
            assertEquals(a.tensor(TarqTensors.ITEM_EMB).segment().mismatch(b.tensor(TarqTensors.ITEM_EMB).segment().asSlice(0, a.tensor(TarqTensors.ITEM_EMB).byteSize())), -1);
        }
        // In place: MODEL and NEW_MODEL may be the same file.
        Path copy = Files.copy(twice, dir.resolve("inplace.safetensors"));
        Path third = Files.writeString(dir.resolve("three.jsonl"), "{\"id\": 1, \"attributes\": []}\n");
        assertEquals(0, run("encode-items", copy.toString(), "--items", third.toString(), "--out", copy.toString()).exit());
        assertEquals(0, run("verify", "--full", copy.toString()).exit());
    }

    @Test
    void faultsAreOneLineNamingTheFileLineAndIdAndWriteNothing() throws IOException {
        Path model = fixture("readout");
        Path out = dir.resolve("never.safetensors");
        long attr;
        long item;
        try (TarqModelFile m = TarqModelFile.open(model)) {
            attr = m.tensor(TarqTensors.ITEM_ATTR_IDS).getLong(0);
            item = m.tensor(TarqTensors.ITEM_IDS).getLong(0);
        }
        Path missing = dir.resolve("absent.jsonl");
        assertFault(run("encode-items", model.toString(), "--items", missing.toString(), "--out", out.toString()),
                "tarq encode-items: " + missing + ": no such file");

        Path malformed = Files.writeString(dir.resolve("bad.jsonl"), "{\"id\": 1, \"attributes\": []}\n{\"id\": 2, \"attributes\": [1.5]}\n");
        assertFault(run("encode-items", model.toString(), "--items", malformed.toString(), "--out", out.toString()),
                "tarq encode-items: " + malformed + ": line 2: \"attributes[0]\" is not an integer id at column 27");

        Path unknown = Files.writeString(dir.resolve("unknown.jsonl"), "{\"id\": 1, \"attributes\": [" + attr + "]}\n\n{\"id\": 2, \"attributes\": [" + attr + ", 31337]}\n");
        assertFault(run("encode-items", model.toString(), "--items", unknown.toString(), "--out", out.toString()),
                "tarq encode-items: " + unknown + ": line 3: item id 2: attribute id 31337 at attributes[1] is not in the model's item.attr.ids");

        Path twice = Files.writeString(dir.resolve("twice.jsonl"), "{\"id\": 123456789, \"attributes\": []}\n{\"id\": " + item
                + ", \"attributes\": []}\n{\"id\": 123456789, \"attributes\": [" + attr + "]}\n");
        assertFault(run("encode-items", model.toString(), "--items", twice.toString(), "--out", out.toString()),
                "tarq encode-items: " + twice + ": lines 1 and 3 both give item id 123456789");

        Path synth = dir.resolve("no-tower.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(50).withUsers(3), synth);
        assertFault(run("encode-items", synth.toString(), "--items", twice.toString(), "--out", out.toString()),
                "tarq encode-items: " + synth + ": tensors item.mlp.*: missing: encoding items needs the item tower "
                        + "(a model trained by ./tarq train has it)");

        assertFault(run("encode-items", dir.resolve("none.safetensors").toString(), "--items", twice.toString(), "--out", out.toString()),
                "tarq encode-items: " + dir.resolve("none.safetensors") + ": no such file");

        assertFalse(Files.exists(out));
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().contains("partial")), "no partial output");
        }
        assertEquals(TarqCli.EXIT_USAGE, run("encode-items", model.toString(), "--items", twice.toString()).exit());
        assertEquals(TarqCli.EXIT_USAGE, run("encode-items", "--items", twice.toString(), "--out", out.toString()).exit());
        assertEquals(TarqCli.EXIT_USAGE, run("encode-items", model.toString(), "--items", twice.toString(), "--out", out.toString(), "--x").exit());
    }

    @Test
    void itemsFromStdinForADashGiveTheSameModelAsFromAFile() throws IOException {
        Path model = fixture("readout");
        String items;
        try (TarqModelFile original = TarqModelFile.open(model)) {
            items = ownItems(original);
        }
        Path file = Files.writeString(dir.resolve("own.jsonl"), items);
        Path fromFile = dir.resolve("from-file.safetensors"), fromStdin = dir.resolve("from-stdin.safetensors");
        assertEquals(0, run("encode-items", model.toString(), "--items", file.toString(), "--out", fromFile.toString()).exit());
        Run r = TarqCliTest.runWithStdin(items, "encode-items", model.toString(), "--items", "-", "--out", fromStdin.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(-1, Files.mismatch(fromFile, fromStdin), "the same bytes");

        assertFault(TarqCliTest.runWithStdin("{\"id\": 1, \"attributes\": []}\n{\"id\": 2}\n", "encode-items", model.toString(),
                        "--items", "-", "--out", dir.resolve("never.safetensors").toString()),
                "tarq encode-items: stdin: line 2: missing \"attributes\" at column 10");
        Path folder = Files.createDirectories(dir.resolve("items-dir"));
        assertFault(run("encode-items", model.toString(), "--items", folder.toString(), "--out", dir.resolve("never.safetensors").toString()),
                "tarq encode-items: " + folder + ": is a directory, not a file");
        assertFault(run("encode-items", model.toString(), "--items", file.toString(), "--out", folder.toString()),
                "tarq encode-items: " + folder + ": is a directory, not a .safetensors file");
        Run toStdout = run("encode-items", model.toString(), "--items", file.toString(), "--out", "-");
        assertEquals(TarqCli.EXIT_USAGE, toStdout.exit());
        TarqCliTest.assertOneUsageLine("tarq encode-items", toStdout);
        assertFalse(Files.exists(dir.resolve("never.safetensors")));
    }

    @Test
    void helpSaysWhatItDoes() {
        Run r = run("encode-items", "--help");
        assertEquals(0, r.exit());
        for (String text : new String[] {"--items", "--out", "MODEL", "item tower", "cold start", "replaced in place"}) {
            assertTrue(r.out().replaceAll("\\s+", " ").contains(text), text + " in " + r.out());
        }
        assertTrue(run("--help").out().contains("encode-items"));
    }

    private static void assertFault(Run r, String expected) {
        assertEquals(TarqCli.EXIT_FAULT, r.exit(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertEquals(expected, r.err().strip());
    }

    // ------------------------------------------------------------------------------------ independent reference

    static float[] floats(TarqModelFile m, String name) {
        return m.tensor(name).toFloatArray();
    }

    static byte[] bytes(TarqModelFile m, String name) {
        return m.tensor(name).segment().toArray(Layouts.U8);
    }

    static double maxAbsDifference(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }

    static List<long[]> attributeLists(TarqModelFile m) {
        long[] offsets = m.tensor(TarqTensors.ITEM_ATTR_OFFSETS).toLongArray();
        long[] values = m.tensor(TarqTensors.ITEM_ATTR_VALUES).toLongArray();
        assertEquals(values.length, offsets[offsets.length - 1]);
        List<long[]> lists = new ArrayList<>();
        for (int i = 0; i + 1 < offsets.length; i++) {
            lists.add(Arrays.copyOfRange(values, (int) offsets[i], (int) offsets[i + 1]));
        }
        return lists;
    }

    static double[] row(TarqModelFile m, String name, int row) {
        TensorView t = m.tensor(name);
        int width = (int) t.dim(1);
        double[] out = new double[width];
        MemorySegment s = t.segment();
        for (int j = 0; j < width; j++) {
            out[j] = s.getAtIndex(Layouts.F32, (long) row * width + j);
        }
        return out;
    }

    static double[] mean(float[] attrEmb, int d, long[] rows) {
        double[] out = new double[d];
        for (long r : rows) {
            for (int j = 0; j < d; j++) {
                out[j] += attrEmb[(int) r * d + j] / (double) rows.length;
            }
        }
        return out;
    }

    static void add(double[] a, double[] b) {
        for (int j = 0; j < a.length; j++) {
            a[j] += b[j];
        }
    }

    static void subtract(double[] a, double[] b) {
        for (int j = 0; j < a.length; j++) {
            a[j] -= b[j];
        }
    }

    /** normalize(W2·ReLU(W0·e + b0) + b2), straight from the contract. */
    static double[] tower(TarqModelFile m, double[] e) {
        float[] w0 = floats(m, TarqTensors.ITEM_MLP_0_WEIGHT), b0 = floats(m, TarqTensors.ITEM_MLP_0_BIAS);
        float[] w2 = floats(m, TarqTensors.ITEM_MLP_2_WEIGHT), b2 = floats(m, TarqTensors.ITEM_MLP_2_BIAS);
        int hidden = b0.length, dv = b2.length, d = e.length;
        double[] h = new double[hidden];
        for (int k = 0; k < hidden; k++) {
            double s = b0[k];
            for (int j = 0; j < d; j++) {
                s += w0[k * d + j] * e[j];
            }
            h[k] = Math.max(0, s);
        }
        double[] v = new double[dv];
        double norm = 0;
        for (int i = 0; i < dv; i++) {
            double s = b2[i];
            for (int k = 0; k < hidden; k++) {
                s += w2[i * hidden + k] * h[k];
            }
            v[i] = s;
            norm += s * s;
        }
        for (int i = 0; i < dv; i++) {
            v[i] /= Math.sqrt(norm);
        }
        return v;
    }
}
