package io.tarq.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.layout.safetensors.DType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TarqModelFileTest {
    @TempDir
    Path dir;

    private Path write(TinyModel model) throws IOException {
        return model.write(dir.resolve("model.safetensors"));
    }

    private ModelFormatException fails(TinyModel model, String subject, String faultFragment) throws IOException {
        Path file = write(model);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> TarqModelFile.open(file).close());
        assertEquals(subject, e.subject(), e.getMessage());
        assertTrue(e.fault().contains(faultFragment), "expected '" + faultFragment + "' in: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(file + ": " + subject + ": "), e.getMessage());
        return e;
    }

    private ModelFormatException failsFull(TinyModel model, String subject, String faultFragment) throws IOException {
        Path file = write(model);
        try (TarqModelFile f = TarqModelFile.open(file)) {
            ModelFormatException e = assertThrows(ModelFormatException.class, f::verifyContents);
            assertEquals(subject, e.subject(), e.getMessage());
            assertTrue(e.fault().contains(faultFragment), "expected '" + faultFragment + "' in: " + e.getMessage());
            return e;
        }
    }

    @Test
    void validModelOpensWithItsDimensionsIdsAndViews() throws IOException {
        TinyModel model = new TinyModel();
        try (TarqModelFile f = TarqModelFile.open(write(model))) {
            f.verifyContents();
            TarqDimensions dims = f.dimensions();
            assertEquals(new TarqDimensions(16, 2, 16, 24, 8, 3, 16, 40, 10), dims);
            assertEquals(8, dims.headDim());
            assertEquals("tarq tests", f.producer());
            assertEquals(0, f.itemIndex().row(5000));
            assertEquals(39, f.itemIndex().row(5000 + 3 * 39));
            assertEquals(IdIndex.MISSING, f.itemIndex().row(5001));
            assertEquals(3, f.userIndex().row(300));
            assertEquals(IdIndex.MISSING, f.userIndex().row(301));
            assertEquals(DType.U8, f.tensor(TarqTensors.ITEM_CODES).dtype());
            assertFalse(f.features().dinTeacherHead());
            assertFalse(f.features().taNullKey());
            assertThrows(IllegalArgumentException.class, () -> f.tensor("nope"));
        }
    }

    /** With L ≤ 4 a candidate's id lookup brings its codes (bytes ≥ 128 included); with L > 4 the payload is 0. */
    @ParameterizedTest
    @CsvSource({"1, 300", "3, 300", "4, 300", "5, 300", "3, 65836"}) // the last: past the 65,536-byte copy chunks
    void theItemIndexCarriesTheCodesWhenTheyFit(int levels, int items) throws IOException {
        TinyModel model = new TinyModel(items, 16, 2, 16, 24, levels, 256, 40, 10);
        try (TarqModelFile f = TarqModelFile.open(write(model))) {
            assertEquals(levels <= 4, f.codesInItemIndex());
            MemorySegment codes = f.tensor(TarqTensors.ITEM_CODES).segment();
            long[] ids = new long[items];
            Arrays.setAll(ids, row -> 5000 + 3L * row);
            int[] rows = new int[items];
            int[] payloads = new int[items];
            assertEquals(0, f.itemIndex().rows(ids, 0, items, rows, payloads));
            for (int row = 0; row < items; row++) {
                assertEquals(row, rows[row]);
                for (int l = 0; l < levels; l++) {
                    int expected = levels <= 4 ? Byte.toUnsignedInt(codes.get(Layouts.U8, (long) l * items + row)) : 0;
                    assertEquals(expected, (payloads[row] >>> (8 * l)) & 0xff, "row " + row + " level " + l);
                }
                if (levels < 4) {
                    assertEquals(0, payloads[row] >>> (8 * levels), "row " + row + ": bytes above level L");
                }
            }
        }
    }

    @Test
    void optionalGroupsAreRecognised() throws IOException {
        TinyModel model = new TinyModel();
        model.floats("ta.attn.null_k", 2, 8).floats("rq.attn.null_k", 2, 8);
        model.floats("ta.mlp.0.weight", 20, 48).floats("ta.mlp.0.bias", 20).floats("ta.mlp.2.weight", 1, 20).floats("ta.mlp.2.bias", 1);
        model.floats("item.mlp.0.weight", 32, 16).floats("item.mlp.0.bias", 32).floats("item.mlp.2.weight", 16, 32).floats("item.mlp.2.bias", 16);
        model.longs("item.attr.ids", new long[] {7, 8, 9}, 3).floats("item.attr.emb", 3, 16);
        long[] offsets = new long[41];
        for (int i = 1; i <= 40; i++) {
            offsets[i] = offsets[i - 1] + (i % 3);
        }
        long[] values = new long[(int) offsets[40]];
        for (int i = 0; i < values.length; i++) {
            values[i] = i % 3;
        }
        model.longs("item.attr.offsets", offsets, 41).longs("item.attr.values", values, values.length);
        model.floats("x.extension", 5); // unknown names are accepted and ignored
        try (TarqModelFile f = TarqModelFile.open(write(model))) {
            f.verifyContents();
            assertEquals(new TarqTensors.Features(true, true, 20, 32, 3), f.features());
        }
    }

    @Test
    void wrongFormatOrFutureVersion() throws IOException {
        TinyModel m = new TinyModel();
        m.metadata.put("format", "onnx");
        fails(m, "metadata format", "is \"onnx\", not \"tarq\"");
        m = new TinyModel();
        m.metadata.put("format_version", "3");
        fails(m, "metadata format_version", "3 is newer than this reader (it reads 1 and 2)");
        m = new TinyModel();
        m.metadata.put("format_version", "0");
        fails(m, "metadata format_version", "0 is not a version");
    }

    @Test
    void versionTwoOpensWithItsCrossHead() throws IOException {
        TinyModel model = new TinyModel().withCrossHead(6);
        try (TarqModelFile f = TarqModelFile.open(write(model))) {
            f.verifyContents();
            TarqDimensions dims = f.dimensions();
            assertEquals(new TarqDimensions(16, 2, 16, 24, 8, 3, 16, 40, 10, 6), dims);
            assertTrue(dims.crossHead());
            assertEquals(2, dims.formatVersion());
        }
    }

    /** Each way metadata and tensors can disagree on the version is refused at open, naming what is at fault. */
    @Test
    void versionRulesOfTheCrossHead() throws IOException {
        TinyModel m = new TinyModel().withCrossHead(6);
        m.metadata.put("format_version", "1");
        fails(m, "metadata cross_dim", "present, but format_version 1 has no cross head");
        m = new TinyModel().withCrossHead(6);
        m.metadata.put("format_version", "1");
        m.metadata.remove("cross_dim");
        fails(m, "tensor ta.cross.a", "format_version 1 does not have");
        m = new TinyModel();
        m.floats("item.cross", 40, 6);
        fails(m, "tensor item.cross", "is part of the cross head");
        m = new TinyModel().withCrossHead(6);
        m.metadata.remove("cross_dim");
        fails(m, "metadata cross_dim", "missing: format_version 2 has the cross head");
        m = new TinyModel().withCrossHead(6);
        m.metadata.put("cross_dim", "0");
        fails(m, "metadata cross_dim", "0 is out of range");
        m = new TinyModel().withCrossHead(6);
        m.metadata.put("cross_dim", "17");
        fails(m, "metadata cross_dim", "out of range: must be in 1..d = 16");
        m = new TinyModel();
        m.metadata.put("format_version", "2");
        m.metadata.put("cross_dim", "6");
        fails(m, "tensor ta.cross.a", "missing: format_version 2 has the cross head");
        for (String name : new String[] {"ta.cross.a", "ta.cross.item.weight", "ta.cross.item.bias", "item.cross"}) {
            m = new TinyModel().withCrossHead(6);
            m.tensors.remove(name);
            fails(m, "tensor " + name, "missing");
        }
        m = new TinyModel().withCrossHead(6);
        m.floats("item.cross", 40, 5);
        fails(m, "tensor item.cross", "shape [40, 5] but the contract says [N, dx] = [40, 6]");
        m = new TinyModel().withCrossHead(6);
        m.floats("ta.cross.a", 6, 15);
        fails(m, "tensor ta.cross.a", "[dx, d] = [6, 16]");
        m = new TinyModel().withCrossHead(6);
        m.floats("ta.mlp.0.weight", 20, 48).floats("ta.mlp.0.bias", 20).floats("ta.mlp.2.weight", 1, 20).floats("ta.mlp.2.bias", 1);
        fails(m, "tensor ta.mlp.0.weight", "has no DIN-style teacher head");
    }

    @Test
    void fullVerifyChecksTheCrossRowsAgainstTheItemEmbeddings() throws IOException {
        TinyModel m = new TinyModel().withCrossHead(6);
        float q = m.floatsOf("item.cross")[7 * 6 + 2];
        m.setFloat("item.cross", 7 * 6 + 2, q + 1e-3f);
        failsFull(m, "tensor item.cross", "row 7 component 2");
    }

    /** A non-finite cross tensor would make its candidates' scores NaN: refused at open, not only by verify --full. */
    @Test
    void nonFiniteCrossTensorsAreRefusedAtOpen() throws IOException {
        TinyModel m = new TinyModel().withCrossHead(6);
        m.setFloat("ta.cross.item.bias", 0, Float.NaN);
        fails(m, "tensor ta.cross.item.bias", "element [0] is NaN");
        m = new TinyModel().withCrossHead(6);
        m.setFloat("ta.cross.a", 3, Float.POSITIVE_INFINITY);
        fails(m, "tensor ta.cross.a", "element [0, 3] is Infinity");
        m = new TinyModel().withCrossHead(6);
        m.setFloat("item.cross", 39 * 6 + 5, Float.NEGATIVE_INFINITY);
        fails(m, "tensor item.cross", "element [39, 5] is -Infinity");
    }

    @Test
    void missingOrMalformedDimensions() throws IOException {
        TinyModel m = new TinyModel();
        m.metadata.remove("levels");
        fails(m, "metadata levels", "missing");
        m = new TinyModel();
        m.metadata.put("d", "+16");
        fails(m, "metadata d", "not a decimal integer");
        m = new TinyModel();
        m.metadata.put("items", "99999999999");
        fails(m, "metadata items", "larger than");
        m = new TinyModel();
        m.metadata.put("levels", "9");
        fails(m, "metadata levels", "9 is out of range: must be in 1..8");
        m = new TinyModel();
        m.metadata.put("codebook_size", "257");
        fails(m, "metadata codebook_size", "out of range");
        m = new TinyModel();
        m.metadata.put("heads", "3");
        fails(m, "metadata heads", "divisor of d");
        m = new TinyModel();
        m.metadata.remove("producer");
        fails(m, "metadata producer", "missing");
    }

    @Test
    void missingTensor() throws IOException {
        TinyModel m = new TinyModel();
        m.tensors.remove("rq.attn.wo");
        fails(m, "tensor rq.attn.wo", "missing");
    }

    @Test
    void wrongShapeSaysWhatTheContractWants() throws IOException {
        TinyModel m = new TinyModel();
        m.floats("rq.codebooks", 3, 16, 32);
        fails(m, "tensor rq.codebooks", "shape [3, 16, 32] but the contract says [L, K, d] = [3, 16, 16]");
        m = new TinyModel();
        m.floats("rq.attn.wq", 16, 16);
        fails(m, "tensor rq.attn.wq", "has rank 2 but the contract says [L, d, d]");
        m = new TinyModel();
        m.metadata.put("items", "41");
        fails(m, "tensor item.ids", "[N] = [41]");
    }

    @Test
    void wrongDtype() throws IOException {
        TinyModel m = new TinyModel();
        m.put("item.codes", DType.I8, new long[] {3, 40}, new byte[120]);
        fails(m, "tensor item.codes", "dtype I8 but the contract says U8");
    }

    @Test
    void partialOptionalGroupNamesTheMissingTensor() throws IOException {
        TinyModel m = new TinyModel();
        m.floats("ta.mlp.0.weight", 20, 48).floats("ta.mlp.0.bias", 20).floats("ta.mlp.2.weight", 1, 20);
        fails(m, "tensor ta.mlp.2.bias", "missing: the DIN-style teacher head needs it");
        m = new TinyModel();
        m.floats("ta.mlp.0.weight", 20, 48).floats("ta.mlp.0.bias", 19).floats("ta.mlp.2.weight", 1, 20).floats("ta.mlp.2.bias", 1);
        fails(m, "tensor ta.mlp.0.bias", "[f_ta] = [20]");
        m = new TinyModel();
        m.floats("ta.attn.null_k", 2, 9);
        fails(m, "tensor ta.attn.null_k", "[h, dh] = [2, 8]");
    }

    @Test
    void duplicateIdsAreFoundOnOpen() throws IOException {
        TinyModel m = new TinyModel();
        m.setLong("item.ids", 17, 5000 + 3 * 4);
        fails(m, "tensor item.ids", "id 5012 appears twice, at rows 4 and 17");
        m = new TinyModel();
        m.setLong("user.ids", 9, 0);
        fails(m, "tensor user.ids", "id 0 appears twice, at rows 0 and 9");
    }

    @Test
    void fullCheckFindsCodesOutOfRange() throws IOException {
        TinyModel m = new TinyModel();
        m.tensors.get("item.codes").bytes()[2 * 40 + 7] = 16;
        failsFull(m, "tensor item.codes", "code 16 at [2, 7] is out of range for codebook_size 16");
    }

    @Test
    void fullCheckFindsNanAndInfinityAnywhere() throws IOException {
        TinyModel m = new TinyModel();
        m.setFloat("seq.attn.wk", 16 * 3 + 5, Float.NaN);
        failsFull(m, "tensor seq.attn.wk", "element [3, 5] is NaN");
        m = new TinyModel();
        m.setFloat("head.tau", 0, Float.NEGATIVE_INFINITY);
        failsFull(m, "tensor head.tau", "element [0] is -Infinity");
    }

    @Test
    void fullCheckFindsItemVectorsNotOfUnitLength() throws IOException {
        TinyModel m = new TinyModel();
        m.setFloat("item.vec", 16 * 11, 3f);
        failsFull(m, "tensor item.vec", "row 11 has norm");
    }

    @Test
    void fullCheckFindsBrokenAttributeTables() throws IOException {
        TinyModel m = new TinyModel();
        m.longs("item.attr.ids", new long[] {7, 8}, 2).floats("item.attr.emb", 2, 16);
        long[] offsets = new long[41];
        offsets[40] = 1;
        m.longs("item.attr.offsets", offsets, 41).longs("item.attr.values", new long[] {2}, 1);
        failsFull(m, "tensor item.attr.values", "entry 0 = 2 is not an attribute row (0..1)");
    }

    @Test
    void aScorerOfAClosedModelGetsAnExceptionNotACrash() throws IOException {
        TarqModelFile f = TarqModelFile.open(write(new TinyModel()));
        var emb = f.tensor(TarqTensors.ITEM_EMB);
        IdIndex items = f.itemIndex();
        long firstId = f.tensor(TarqTensors.ITEM_IDS).getLong(0);
        assertEquals(0, items.row(firstId));
        f.close();
        f.close(); // idempotent
        assertFalse(f.isOpen());
        assertThrows(IllegalStateException.class, () -> emb.getFloat(0));
        assertThrows(IllegalStateException.class, f::verifyContents);
        // The id indexes are freed with the file: a lookup throws, it does not read freed memory.
        assertThrows(IllegalStateException.class, () -> items.row(firstId));
        assertThrows(IllegalStateException.class, () -> f.userIndex().row(0));
    }
}
