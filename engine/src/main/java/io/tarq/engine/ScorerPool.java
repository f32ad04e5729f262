package io.tarq.engine;

import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * The idle scorers of one served model, so that a request gets a warm scorer (its buffers already grown) without
 * allocating one. A fixed array of slots, lock-free: taking swaps a slot to null, giving back CASes a null slot.
 * A thread starts its search at a slot chosen by its id, so with few threads each one tends to get its own scorer
 * back. When every slot is empty a new scorer is made; when every slot is full a returned scorer is dropped for the
 * GC, so the pool never holds more than its capacity.
 */
final class ScorerPool {
    private final AtomicReferenceArray<Scorer> slots;
    private final Supplier<Scorer> factory;

    ScorerPool(int capacity, Supplier<Scorer> factory) {
        if (capacity < 1) {
            throw new IllegalArgumentException("scorer pool capacity " + capacity + " must be at least 1");
        }
        this.slots = new AtomicReferenceArray<>(capacity);
        this.factory = factory;
    }

    /** Fills up to {@code count} slots with new scorers (done before a model is published, off the request path). */
    void prefill(int count) {
        for (int i = 0; i < Math.min(count, slots.length()); i++) {
            slots.set(i, factory.get());
        }
    }

    Scorer take() {
        int n = slots.length();
        int start = home(n);
        for (int i = 0; i < n; i++) {
            int slot = (start + i) % n;
            // Read before the atomic write: an empty slot costs a load, not a cache-line steal.
            if (slots.get(slot) != null) {
                Scorer s = slots.getAndSet(slot, null);
                if (s != null) {
                    return s;
                }
            }
        }
        return factory.get();
    }

    void give(Scorer scorer) {
        int n = slots.length();
        int start = home(n);
        for (int i = 0; i < n; i++) {
            int slot = (start + i) % n;
            if (slots.get(slot) == null && slots.compareAndSet(slot, null, scorer)) {
                return;
            }
        }
    }

    private static int home(int n) {
        return (int) Math.floorMod(Thread.currentThread().threadId(), (long) n);
    }
}
