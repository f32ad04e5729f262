package io.tarq.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.layout.Layouts;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import io.tarq.tools.TarqCliTest.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./tarq encode-items} (Java) against {@code tarq.encode.encode_items} (Python, numpy) on the same model and
 * items: replaced and new items, with and without attributes. Runs Debian's python3 with {@code tools/python} on
 * the path, as {@link PythonInteropTest} does.
 */
class EncodeItemsInteropTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void findPython() throws Exception {
        ProjectPython.assumeAvailable();
    }

    static Run python(String... args) throws IOException, InterruptedException {
        return ProjectPython.run(args);
    }

    @Test
    void javaAndPythonEncodeTheSameItemsAlike() throws Exception {
        Path model = dir.resolve("python-synth.safetensors");
        Run synth = python("-m", "tarq.model_file", "synth", "--out", model.toString(), "--items", "3000", "--seed", "11",
                "--d", "32", "--dv", "16", "--codebook-size", "32", "--item-tower", "--attributes", "40");
        assertEquals(0, synth.exit(), synth.err());

        // 200 replaced items and 800 new ones, 0..4 attributes each (external ids 5000 + 3·row in the synth model).
        SplittableRandom random = new SplittableRandom(3);
        StringBuilder lines = new StringBuilder();
        for (int k = 0; k < 1000; k++) {
            long id = k < 200 ? 1000 + k * 13L : 1_000_000_000_000L + k; // synth item ids are 1000 + row
            lines.append("{\"id\": ").append(id).append(", \"attributes\": [");
            int count = random.nextInt(5);
            for (int a = 0; a < count; a++) {
                lines.append(a == 0 ? "" : ", ").append(5000 + 3 * random.nextInt(40));
            }
            lines.append("]}\n");
        }
        Path items = Files.writeString(dir.resolve("items.jsonl"), lines);
        Path javaOut = dir.resolve("java.safetensors"), pythonOut = dir.resolve("python.safetensors");
        Run j = TarqCliTest.run("encode-items", model.toString(), "--items", items.toString(), "--out", javaOut.toString());
        assertEquals(0, j.exit(), j.err());
        assertTrue(j.out().contains("200 items replaced, 800 added"), j.out());
        Run p = python("-m", "tarq.encode", model.toString(), "--items", items.toString(), "--out", pythonOut.toString());
        assertEquals(0, p.exit(), p.err());
        Run verify = python("-m", "tarq.model_file", "verify", "--full", javaOut.toString());
        assertEquals(0, verify.exit(), "Python's reader accepts the Java output: " + verify.err());

        try (TarqModelFile java = TarqModelFile.open(javaOut); TarqModelFile py = TarqModelFile.open(pythonOut)) {
            assertEquals(3800, java.dimensions().items());
            for (String exact : new String[] {TarqTensors.ITEM_IDS, TarqTensors.ITEM_ATTR_OFFSETS, TarqTensors.ITEM_ATTR_VALUES}) {
                assertEquals(-1, java.tensor(exact).segment().mismatch(py.tensor(exact).segment()), exact);
            }
            // e: the same float64 operations in the same order on both sides, rounded once: equal bit for bit.
            assertArrayEquals(py.tensor(TarqTensors.ITEM_EMB).toFloatArray(), java.tensor(TarqTensors.ITEM_EMB).toFloatArray());
            // î: double accumulation in Java, BLAS float64 in numpy: the same float32 rounding but for the last bit.
            assertEquals(0, EncodeItemsCommandTest.maxAbsDifference(py.tensor(TarqTensors.ITEM_VEC).toFloatArray(),
                    java.tensor(TarqTensors.ITEM_VEC).toFloatArray()), 1e-6);
            byte[] javaCodes = java.tensor(TarqTensors.ITEM_CODES).segment().toArray(Layouts.U8);
            byte[] pyCodes = py.tensor(TarqTensors.ITEM_CODES).segment().toArray(Layouts.U8);
            int equal = 0;
            for (int i = 0; i < javaCodes.length; i++) {
                equal += javaCodes[i] == pyCodes[i] ? 1 : 0;
            }
            // Greedy RQ sums distances in float (Java) and float64 (numpy): only near-ties may differ.
            assertTrue(equal >= 0.999 * javaCodes.length, equal + " of " + javaCodes.length + " codes equal");
        }
    }

    @Test
    void reEncodingAPythonExportWithItsOwnAttributesReproducesIt() throws Exception {
        Path model = dir.resolve("python-synth.safetensors");
        Run synth = python("-m", "tarq.model_file", "synth", "--out", model.toString(), "--items", "2000", "--seed", "5",
                "--item-tower", "--attributes", "25");
        assertEquals(0, synth.exit(), synth.err());
        Path items;
        try (TarqModelFile m = TarqModelFile.open(model)) {
            items = Files.writeString(dir.resolve("own.jsonl"), EncodeItemsCommandTest.ownItems(m));
        }
        Path out = dir.resolve("re-encoded.safetensors");
        Run r = TarqCliTest.run("encode-items", model.toString(), "--items", items.toString(), "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        try (TarqModelFile before = TarqModelFile.open(model); TarqModelFile after = TarqModelFile.open(out)) {
            assertArrayEquals(before.tensor(TarqTensors.ITEM_EMB).toFloatArray(), after.tensor(TarqTensors.ITEM_EMB).toFloatArray());
            assertEquals(0, EncodeItemsCommandTest.maxAbsDifference(before.tensor(TarqTensors.ITEM_VEC).toFloatArray(),
                    after.tensor(TarqTensors.ITEM_VEC).toFloatArray()), 1e-5);
            byte[] a = before.tensor(TarqTensors.ITEM_CODES).segment().toArray(Layouts.U8);
            byte[] b = after.tensor(TarqTensors.ITEM_CODES).segment().toArray(Layouts.U8);
            int equal = 0;
            for (int i = 0; i < a.length; i++) {
                equal += a[i] == b[i] ? 1 : 0;
            }
            assertTrue(equal >= 0.999 * a.length, equal + " of " + a.length + " codes equal");
        }
    }
}
