package io.tarq.engine;

import io.tarq.layout.Layouts;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One request's candidate codes in the scan's layout, {@code codes[L][stride]} (level-major, stride a multiple of 64,
 * padding code 0), gathered from the model's candidate-major copy {@code codesByItem[N][L]}: one cache line a
 * candidate. Grows to the largest request seen, then allocates nothing.
 */
final class CandidateCodes {
    private final MemorySegment codesByItem;
    private final int levels;
    byte[] block = new byte[0];
    short[] sums = new short[0];

    CandidateCodes(MemorySegment codesByItem, int levels) {
        this.codesByItem = codesByItem;
        this.levels = levels;
    }

    /** Gathers the codes of {@code rows[0..count)}; returns the stride. */
    int gather(int[] rows, int count) {
        int stride = (count + 63) & ~63;
        if (block.length < levels * stride) {
            block = new byte[levels * stride];
            sums = new short[stride];
        }
        for (int i = 0; i < count; i++) {
            long base = (long) rows[i] * levels;
            for (int l = 0; l < levels; l++) {
                block[l * stride + i] = codesByItem.get(Layouts.U8, base + l);
            }
        }
        for (int l = 0; l < levels; l++) {
            Arrays.fill(block, l * stride + count, (l + 1) * stride, (byte) 0);
        }
        return stride;
    }
}
