package io.tarq.engine.quantize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class GreedyResidualQuantizerTest {

    /** The contract's recursion in double precision, written directly. */
    private static int[] reference(float[] e, float[] codebooks, int levels, int k, int d) {
        double[] residual = new double[d];
        for (int j = 0; j < d; j++) {
            residual[j] = e[j];
        }
        int[] codes = new int[levels];
        for (int l = 0; l < levels; l++) {
            double best = Double.POSITIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                double distance = 0;
                for (int j = 0; j < d; j++) {
                    double diff = residual[j] - codebooks[(l * k + c) * d + j];
                    distance += diff * diff;
                }
                if (distance < best) {
                    best = distance;
                    codes[l] = c;
                }
            }
            for (int j = 0; j < d; j++) {
                residual[j] -= codebooks[(l * k + codes[l]) * d + j];
            }
        }
        return codes;
    }

    @ParameterizedTest
    @CsvSource({"1,2,16", "3,16,16", "3,256,64", "8,7,32"})
    void matchesTheContractsRecursion(int levels, int k, int d) {
        SplittableRandom random = new SplittableRandom(levels * 1000L + k);
        float[] codebooks = new float[levels * k * d];
        for (int i = 0; i < codebooks.length; i++) {
            codebooks[i] = (float) (random.nextGaussian() * Math.pow(0.5, i / (k * d)));
        }
        GreedyResidualQuantizer quantizer = new GreedyResidualQuantizer(codebooks, levels, k, d);
        float[] e = new float[d];
        float[] residual = new float[d];
        byte[] codes = new byte[levels * 3];
        for (int item = 0; item < 500; item++) {
            for (int j = 0; j < d; j++) {
                e[j] = (float) random.nextGaussian();
            }
            quantizer.encode(e, 0, codes, 1, 3, residual); // level-major with a stride, as codes[L][N]
            int[] expected = reference(e, codebooks, levels, k, d);
            for (int l = 0; l < levels; l++) {
                assertEquals(expected[l], Byte.toUnsignedInt(codes[l * 3 + 1]), "item " + item + " level " + l);
            }
        }
    }

    @Test
    void tiesGoToTheLowestCode() {
        float[] codebooks = {1, 0, 0, 0, 1, 0, 0, 0, -1, 0, 0, 0}; // L=1, K=3, d=4: codes 0 and 1 identical
        GreedyResidualQuantizer quantizer = new GreedyResidualQuantizer(codebooks, 1, 3, 4);
        byte[] codes = new byte[1];
        quantizer.encode(new float[] {1, 0, 0, 0}, 0, codes, 0, 1, new float[4]);
        assertEquals(0, codes[0]);
    }

    @Test
    void refusesInconsistentShapes() {
        assertThrows(IllegalArgumentException.class, () -> new GreedyResidualQuantizer(new float[10], 1, 3, 4));
        assertThrows(IllegalArgumentException.class, () -> new GreedyResidualQuantizer(new float[257 * 4], 1, 257, 4));
    }
}
