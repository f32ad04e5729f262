package io.tarq.engine;

import io.tarq.layout.Layouts;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One request's candidate codes in the scan's layout, {@code codes[L][stride]} (level-major, stride a multiple of 64,
 * padding code 0): unpacked from the ints the id lookup brought ({@code code[l] = (packed >>> 8l) & 0xff}, when
 * L ≤ 4), or gathered from the model's candidate-major copy {@code codesByItem[N][L]}, one cache line a candidate.
 * Grows to the largest request seen, then allocates nothing.
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

    /** Rows whose codes {@link #gather} touches before it copies them: a few KB of lines, which stay in L1. */
    private static final int GATHER_CHUNK = 256;

    /** Where the touching loads' sum goes, so that they are consumed (never read). */
    private int touched;

    /** Gathers the codes of {@code rows[0..count)}; returns the stride. */
    int gather(int[] rows, int count) {
        // Each candidate's codes are a random cache line of the copy; the copy loop (L loads and L stores a row) holds
        // few misses in flight. Touching a chunk's lines first, in a loop of one load a row, keeps many in flight
        // (Java has no prefetch instruction), and the copy then reads L1: the same trick as the 8-bit scan's.
        int stride = reserve(count);
        for (int start = 0; start < count; start += GATHER_CHUNK) {
            int end = Math.min(count, start + GATHER_CHUNK);
            int sum = 0;
            for (int i = start; i < end; i++) {
                sum += codesByItem.get(Layouts.U8, (long) rows[i] * levels);
            }
            touched = sum;
            for (int l = 0; l < levels; l++) { // level-outer: a loop of L (3) a candidate costs C2's loop set-up each time
                int to = l * stride;
                for (int i = start; i < end; i++) {
                    block[to + i] = codesByItem.get(Layouts.U8, (long) rows[i] * levels + l);
                }
            }
        }
        padLevels(count, stride);
        return stride;
    }

    /** Unpacks {@code packed[0..count)}, each candidate's L ≤ 4 codes in one int, low byte first; returns the stride. */
    int unpack(int[] packed, int count) {
        int stride = reserve(count);
        for (int l = 0; l < levels; l++) {
            int base = l * stride, shift = 8 * l;
            for (int i = 0; i < count; i++) {
                block[base + i] = (byte) (packed[i] >>> shift);
            }
        }
        padLevels(count, stride);
        return stride;
    }

    private int reserve(int count) {
        int stride = (count + 63) & ~63;
        if (block.length < levels * stride) {
            block = new byte[levels * stride];
            sums = new short[stride];
        }
        return stride;
    }

    private void padLevels(int count, int stride) {
        for (int l = 0; l < levels; l++) {
            Arrays.fill(block, l * stride + count, (l + 1) * stride, (byte) 0);
        }
    }
}
