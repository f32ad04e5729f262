package io.tarq.engine;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * One version of the model an engine serves, with a reference count: one reference for the engine while the version
 * is current, one for each lease. The count never rises from zero ({@link #tryRetain()} refuses), so once the last
 * reference is released the model is closed exactly once, by that releasing thread, and no request can be running
 * on it: every request holds a reference for its whole duration.
 */
final class ServedModel {
    private final TarqModel model;
    private final long version;
    private final ScorerPool scorers;
    private final AtomicInteger references = new AtomicInteger(1);
    private final Consumer<ServedModel> onClose;

    ServedModel(TarqModel model, long version, ScorerPool scorers, Consumer<ServedModel> onClose) {
        this.model = model;
        this.version = version;
        this.scorers = scorers;
        this.onClose = onClose;
    }

    /** Takes a reference unless the count already reached zero (the model is closed or being closed). */
    boolean tryRetain() {
        while (true) {
            int count = references.get();
            if (count == 0) {
                return false;
            }
            if (references.compareAndSet(count, count + 1)) {
                return true;
            }
        }
    }

    /** Drops a reference; the last one closes the model (unmaps its file, frees its arena). */
    void release() {
        int count = references.decrementAndGet();
        if (count == 0) {
            try {
                model.close();
            } finally {
                onClose.accept(this);
            }
        } else if (count < 0) {
            throw new IllegalStateException(model.file().path() + ": model version " + version + " released more often than retained");
        }
    }

    TarqModel model() {
        return model;
    }

    long version() {
        return version;
    }

    Path path() {
        return model.file().path();
    }

    ScorerPool scorers() {
        return scorers;
    }

    int references() {
        return references.get();
    }
}
