package io.tarq.tools.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Values pinned from {@code tools/python/tarq/data/portable.py} (Python's arbitrary-precision integers, masked). */
class PortableNegativesTest {
    @Test
    void mixAndStreamStatesAreThePythonValues() {
        assertEquals(0x5692161d100b05e5L, PortableNegatives.mix(1));
        assertEquals(0xb4d055fcf2cbbd7bL, PortableNegatives.mix(-1L)); // 2^64 - 1
        assertEquals(0x127ed4bfa31a36adL, PortableNegatives.streamState(0, 2, 1));
        assertEquals(0x7eb1ff2a6f920c13L, PortableNegatives.streamState(7, 1, 12345));
    }

    @Test
    void samplesAreThePythonSamples() {
        // portable_negatives(0, 2, [1, 5, 1000], 10, lambda u: {0, 3, 7, u % 50}, 50)
        int[][] expected = {
                {4, 13, 17, 26, 24, 10, 22, 34, 35, 47},
                {22, 46, 33, 37, 17, 6, 41, 14, 42, 20},
                {48, 9, 26, 40, 37, 28, 14, 5, 21, 6}};
        int[] users = {1, 5, 1000};
        for (int r = 0; r < users.length; r++) {
            int[] touched = {0, 3, 7, users[r] % 50};
            assertArrayEquals(expected[r], PortableNegatives.sample(0, PortableNegatives.TEST, users[r], 10, touched, 50));
        }
        // portable_negatives(3, 1, [2], 5, lambda u: set(), 7): every item but one, so repeats are skipped
        assertArrayEquals(new int[] {5, 4, 1, 3, 0}, PortableNegatives.sample(3, PortableNegatives.VALIDATION, 2, 5, new int[0], 7));
    }
}
