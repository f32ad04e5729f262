package io.tarq.engine;

/**
 * Selects the k best of M scores without sorting all M: a binary heap of the k best so far with the worst on top,
 * O(M log k). "Better" is a higher score, then a lower position; NaN scores (skipped candidates) are never taken.
 */
final class TopKSelector {
    private int[] heap = new int[0]; // candidate positions

    /** Fills {@code result} with the best {@code k} of {@code scores[0..count)}, best first. */
    void select(float[] scores, int count, int k, int[] rows, long[] ids, int idsOffset, TopK result) {
        if (k < 0) {
            throw new IllegalArgumentException("k = " + k + " is negative");
        }
        int capacity = Math.min(k, count);
        if (heap.length < capacity) {
            heap = new int[capacity];
        }
        int size = 0;
        for (int i = 0; i < count && capacity > 0; i++) {
            float s = scores[i];
            if (Float.isNaN(s)) {
                continue;
            }
            if (size < capacity) {
                heap[size] = i;
                siftUp(scores, size++);
            } else if (better(scores, i, heap[0])) {
                heap[0] = i;
                siftDown(scores, 0, size);
            }
        }
        // Pop worst-first into the result from the back: result[0] is the best.
        result.ensureCapacity(size);
        result.size = size;
        for (int r = size - 1; r >= 0; r--) {
            int position = heap[0];
            heap[0] = heap[r];
            siftDown(scores, 0, r);
            result.positions[r] = position;
            result.rows[r] = rows[position];
            result.ids[r] = ids == null ? -1 : ids[idsOffset + position];
            result.scores[r] = scores[position];
        }
    }

    private static boolean better(float[] scores, int a, int b) {
        return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
    }

    private void siftUp(float[] scores, int i) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!better(scores, heap[parent], heap[i])) {
                return;
            }
            swap(i, parent);
            i = parent;
        }
    }

    private void siftDown(float[] scores, int i, int size) {
        while (true) {
            int left = 2 * i + 1;
            if (left >= size) {
                return;
            }
            int worst = left;
            if (left + 1 < size && better(scores, heap[left], heap[left + 1])) {
                worst = left + 1;
            }
            if (!better(scores, heap[i], heap[worst])) {
                return;
            }
            swap(i, worst);
            i = worst;
        }
    }

    private void swap(int a, int b) {
        int t = heap[a];
        heap[a] = heap[b];
        heap[b] = t;
    }
}
