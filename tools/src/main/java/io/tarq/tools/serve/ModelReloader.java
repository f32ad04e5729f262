package io.tarq.tools.serve;

import io.tarq.engine.ItemVectors;
import io.tarq.engine.RequestLimits;
import io.tarq.engine.TarqEngine;
import io.tarq.engine.TarqModel;
import io.tarq.layout.OneLine;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Keeps an engine on the highest valid version of a {@link ModelDirectory}. A candidate version is opened on its own,
 * checked completely (structure and every byte, as {@code verify --full}) and warmed up with synthetic requests; only
 * then does {@link TarqEngine#swap} publish it, re-checking the file as it opens it. Requests in flight finish on the
 * version they started on. A version that fails is logged on one line and skipped, and the current one keeps serving;
 * it is tried again only if its file changes (size or time), so a bad version costs one log line, not one a poll.
 *
 * <p>"Highest valid" works both ways, as in TF Serving: removing the served version's folder falls back to the next
 * lower valid one. With no valid version left on disk the current one keeps serving (its file stays mapped).
 *
 * <p>Reloads run one at a time: from the watcher thread (on a directory event, and every poll interval, which also
 * notices a file written inside an existing folder) and from {@code POST /v1/admin/reload}.
 */
final class ModelReloader implements AutoCloseable {
    /** What a reload did: the version served after it, whether it changed, and the versions it rejected. */
    record Result(long version, boolean swapped, List<Long> rejected) {
    }

    private record Stamp(long byteSize, long modifiedMillis) {
    }

    private final ModelDirectory directory;
    private final TarqEngine engine;
    private final ItemVectors itemVectors;
    private final RequestLimits limits;
    private final int warmupRequests;
    private final Consumer<String> log;
    private final Map<Long, Stamp> rejectedStamps = new HashMap<>();
    private final AtomicLong swaps = new AtomicLong();
    private final AtomicLong rejections = new AtomicLong();
    private volatile long version;
    private volatile WatchService watcher;
    private Thread watchThread;

    private ModelReloader(ModelDirectory directory, TarqEngine engine, long version, ItemVectors itemVectors,
                          RequestLimits limits, int warmupRequests, Consumer<String> log) {
        this.directory = directory;
        this.engine = engine;
        this.version = version;
        this.itemVectors = itemVectors;
        this.limits = limits;
        this.warmupRequests = warmupRequests;
        this.log = log;
    }

    /** Opens the highest valid version as a new engine, warmed up; lower versions are tried when higher ones fail. */
    static ModelReloader open(ModelDirectory directory, TarqEngine.Builder builder, ItemVectors itemVectors,
                              RequestLimits limits, int warmupRequests, Consumer<String> log) throws IOException {
        List<ModelDirectory.Entry> entries = directory.versions();
        Map<Long, Stamp> rejected = new HashMap<>();
        for (ModelDirectory.Entry entry : entries) {
            try {
                TarqEngine engine = builder.itemVectors(itemVectors).limits(limits).open(entry.file());
                try (var lease = engine.acquire()) {
                    Warmup.run(lease.model(), limits, warmupRequests);
                } catch (RuntimeException e) {
                    engine.close();
                    throw e;
                }
                ModelReloader reloader = new ModelReloader(directory, engine, entry.version(), itemVectors, limits,
                        warmupRequests, log);
                reloader.rejectedStamps.putAll(rejected);
                reloader.rejections.addAndGet(rejected.size());
                return reloader;
            } catch (IOException | RuntimeException e) {
                log.accept("version " + entry.version() + " rejected: " + oneLine(e));
                rejected.put(entry.version(), new Stamp(entry.byteSize(), entry.modifiedMillis()));
            }
        }
        throw new IOException(directory.path() + ": no valid model version (expected " + directory.path()
                + "/<N>/" + ModelDirectory.MODEL_FILE + ", N a positive integer)");
    }

    TarqEngine engine() {
        return engine;
    }

    /** The version served (the folder's number). */
    long version() {
        return version;
    }

    long swaps() {
        return swaps.get();
    }

    /** Versions refused, at start or on a reload: invalid files and failed warm-ups. */
    long rejections() {
        return rejections.get();
    }

    /** Serves the highest valid version on disk, if it is not the one served. */
    synchronized Result reload() throws IOException {
        List<Long> rejectedNow = new ArrayList<>();
        for (ModelDirectory.Entry entry : directory.versions()) {
            if (entry.version() == version) {
                break; // the served version is the highest valid one
            }
            Stamp stamp = new Stamp(entry.byteSize(), entry.modifiedMillis());
            if (stamp.equals(rejectedStamps.get(entry.version()))) {
                continue;
            }
            try {
                try (TarqModel candidate = TarqModel.open(entry.file(), itemVectors)) {
                    candidate.file().verifyContents();
                    Warmup.run(candidate, limits, warmupRequests);
                }
                engine.swap(entry.file());
                long previous = version;
                version = entry.version();
                rejectedStamps.remove(entry.version());
                swaps.incrementAndGet();
                log.accept("serving version " + entry.version() + " (was " + previous + ")");
                return new Result(version, true, rejectedNow);
            } catch (IOException | RuntimeException e) {
                rejectedStamps.put(entry.version(), stamp);
                rejections.incrementAndGet();
                rejectedNow.add(entry.version());
                log.accept("version " + entry.version() + " rejected, version " + version + " keeps serving: " + oneLine(e));
            }
        }
        return new Result(version, false, rejectedNow);
    }

    /**
     * Starts the watcher thread: a reload on each change to the directory's entries (a version renamed into place
     * arrives at once) and every {@code pollMillis} in any case.
     */
    void watch(long pollMillis) throws IOException {
        WatchService service = directory.path().getFileSystem().newWatchService();
        directory.path().register(service, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE,
                StandardWatchEventKinds.ENTRY_MODIFY);
        watcher = service;
        watchThread = Thread.ofPlatform().daemon().name("tarq-model-watcher").start(() -> {
            try {
                while (true) {
                    var key = service.poll(pollMillis, TimeUnit.MILLISECONDS);
                    if (key != null) {
                        key.pollEvents();
                        key.reset();
                    }
                    try {
                        reload();
                    } catch (IOException | RuntimeException e) {
                        log.accept("reload failed, version " + version + " keeps serving: " + oneLine(e));
                    }
                }
            } catch (InterruptedException | ClosedWatchServiceException e) {
                // closed: the server is stopping
            }
        });
    }

    /** Stops the watcher and the engine; the engine closes the served model when its last request ends. */
    @Override
    public void close() {
        WatchService service = watcher;
        if (service != null) {
            try {
                service.close();
            } catch (IOException e) {
                // nothing to do: the process is stopping
            }
        }
        if (watchThread != null) {
            watchThread.interrupt();
        }
        synchronized (this) {
            engine.close();
        }
    }

    static String oneLine(Exception e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return OneLine.of(message.lines().findFirst().orElse(message));
    }
}
