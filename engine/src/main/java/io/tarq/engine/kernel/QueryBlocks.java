package io.tarq.engine.kernel;

/**
 * The query layout of {@link KernelSupport#attendRows}: blocks of 64 queries, each block stored component-major so
 * that one vector load gives one component of 16 (or 8) consecutive queries, and the four vectors of a component sit
 * side by side.
 * <pre>
 *   rows      [count][d]                      query i, component c at rows[i·d + c]
 *   blocked   [ceil(count/64)][d][64]         at blocked[((i / 64)·d + c)·64 + i % 64]
 * </pre>
 */
public final class QueryBlocks {
    public static final int BLOCK = KernelSupport.QUERY_BLOCK;

    private QueryBlocks() {
    }

    /** Floats the blocked layout of {@code count} queries of width d takes (the last block padded). */
    public static int length(int count, int d) {
        return (count + BLOCK - 1) / BLOCK * BLOCK * d;
    }

    /** Rows {@code [count][d]} (from {@code rowsOffset}) into the blocked layout; padding lanes are zeroed. */
    public static void block(float[] rows, int rowsOffset, int count, int d, float[] blocked) {
        int blocks = (count + BLOCK - 1) / BLOCK;
        for (int b = 0; b < blocks; b++) {
            for (int lane = 0; lane < BLOCK; lane++) {
                int i = b * BLOCK + lane;
                int base = b * d * BLOCK + lane;
                if (i < count) {
                    for (int c = 0; c < d; c++) {
                        blocked[base + c * BLOCK] = rows[rowsOffset + i * d + c];
                    }
                } else {
                    for (int c = 0; c < d; c++) {
                        blocked[base + c * BLOCK] = 0f;
                    }
                }
            }
        }
    }
}
