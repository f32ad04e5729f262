package io.tarq.engine.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.quantize.GreedyResidualQuantizer;
import io.tarq.layout.TarqDimensions;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticModelTest {
    @TempDir
    Path dir;

    @Test
    void writesAValidModelWhoseCodesAreTheGreedyRqOfItsEmbeddings() throws IOException {
        SyntheticModelSpec spec = SyntheticModelSpec.defaults(20_000).withUsers(50).withNullKeys(true).withTaMlpHidden(32);
        Path file = dir.resolve("m.safetensors");
        SyntheticModel.write(spec, file);
        try (TarqModelFile model = TarqModelFile.open(file)) {
            model.verifyContents();
            TarqDimensions dims = model.dimensions();
            assertEquals(new TarqDimensions(64, 4, 64, 128, 100, 3, 256, 20_000, 50), dims);
            assertTrue(model.features().taNullKey() && model.features().rqNullKey() && model.features().dinTeacherHead());
            assertEquals(123, model.itemIndex().row(SyntheticModel.itemId(123)));

            float[] codebooks = model.tensor(TarqTensors.RQ_CODEBOOKS).toFloatArray();
            GreedyResidualQuantizer quantizer = new GreedyResidualQuantizer(codebooks, 3, 256, 64);
            float[] emb = model.tensor(TarqTensors.ITEM_EMB).toFloatArray();
            var codes = model.tensor(TarqTensors.ITEM_CODES);
            byte[] expected = new byte[3];
            int[] used = new int[3 * 256];
            for (int row = 0; row < dims.items(); row++) {
                quantizer.encode(emb, row * 64, expected, 0, 1, new float[64]);
                for (int l = 0; l < 3; l++) {
                    assertEquals(Byte.toUnsignedInt(expected[l]), codes.getUnsignedByte((long) l * dims.items() + row));
                    used[l * 256 + Byte.toUnsignedInt(expected[l])]++;
                }
            }
            for (int l = 0; l < 3; l++) {
                int distinct = 0;
                for (int k = 0; k < 256; k++) {
                    distinct += used[l * 256 + k] > 0 ? 1 : 0;
                }
                assertTrue(distinct > 200, "level " + l + " uses " + distinct + " codes: the catalog should spread over the codebook");
            }
        }
    }

    @Test
    void sameSpecSameBytes() throws IOException {
        SyntheticModelSpec spec = SyntheticModelSpec.defaults(3000).withUsers(20).withSeed(9);
        Path a = dir.resolve("a.safetensors");
        Path b = dir.resolve("b.safetensors");
        SyntheticModel.write(spec, a);
        SyntheticModel.write(spec, b);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        Path c = dir.resolve("c.safetensors");
        SyntheticModel.write(spec.withSeed(10), c);
        assertTrue(Files.mismatch(a, c) >= 0);
    }
}
