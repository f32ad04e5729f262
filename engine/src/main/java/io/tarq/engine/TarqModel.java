package io.tarq.engine;

import io.tarq.engine.kernel.KernelSupport;
import io.tarq.engine.kernel.Kernels;
import io.tarq.layout.IdIndex;
import io.tarq.layout.Layouts;
import io.tarq.layout.ModelFormatException;
import io.tarq.layout.TarqDimensions;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.TarqTensors;
import io.tarq.layout.safetensors.TensorView;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A TARQ model, open for serving: thread-safe and shared by all request threads, each of which scores through its own
 * {@link Scorer} ({@link #newScorer()}).
 *
 * <pre>{@code
 * try (TarqModel model = TarqModel.open(Path.of("model.safetensors"))) {
 *     Scorer scorer = model.newScorer();                 // one per thread; owns all scratch memory
 *     float[] logits = new float[candidates.length];
 *     scorer.score(Mode.TARQ, userId, history, candidates, logits);
 * }
 * }</pre>
 *
 * <p>Opening maps the file (see {@link TarqModelFile}), copies the weights that do not grow with the catalog to the
 * heap in the kernels' layout, projects the codeword queries once, and copies the codes candidate-major
 * ({@code codesByItem [N][L]}, off-heap) so that a candidate's L codes cost one cache miss, not L. With
 * {@link ItemVectors#SQ8} it also builds the 8-bit copy of {@code item.vec} the candidate scans then read.
 *
 * <p><b>Thread-safety.</b> Immutable once open: any number of threads may call its methods and score through their
 * own scorers. Closing is the exception: once {@link #close()} has run, every scorer of the model throws
 * {@link IllegalStateException}, so close it only when no request is running ({@link TarqEngine} does this for a
 * model it replaces, by reference counting).
 */
public final class TarqModel implements AutoCloseable {
    private final TarqModelFile file;
    private final KernelSupport kernels;
    private final ModelWeights weights;
    private final Arena arena;
    private final MemorySegment codesByItem;
    private final QuantizedItemVectors quantizedVectors; // null unless SQ8
    private final ItemRecords records;                   // null unless RECORDS on a model with the cross head
    private final RequestMetrics metrics = new RequestMetrics();

    private TarqModel(TarqModelFile file, KernelSupport kernels, ItemVectors itemVectors) throws ModelFormatException {
        this.file = file;
        this.kernels = kernels;
        this.weights = new ModelWeights(file, kernels);
        RequestEvent.register();
        this.arena = Arena.ofShared();
        try {
            file.verifyCodes(); // a code ≥ K would score from another level's table: refuse it, not serve it
            this.codesByItem = transposeCodes(file, arena);
            TarqDimensions dims = file.dimensions();
            this.quantizedVectors = itemVectors == ItemVectors.SQ8
                    ? QuantizedItemVectors.build(file.path(), TarqTensors.ITEM_VEC,
                            file.tensor(TarqTensors.ITEM_VEC).segment(), dims.items(), dims.dv(), arena)
                    : null;
            this.records = itemVectors == ItemVectors.RECORDS ? ItemRecords.build(file, arena) : null;
        } catch (ModelFormatException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Opens and checks a model with the kernels this JVM supports ({@link Kernels#get()}) and float item vectors.
     * Checks the structure and every code ({@link TarqModelFile#verifyCodes()}), not the other tensors' contents
     * ({@link TarqModelFile#verifyContents()}).
     *
     * @param path the model file
     * @return the open model
     * @throws ModelFormatException     the file is not a valid model (the message names the file, tensor and fault)
     * @throws IOException              the file cannot be read
     * @throws IllegalArgumentException {@code -Dio.tarq.kernels} has a value other than {@code scalar} or
     *                                  {@code panama}
     * @throws IllegalStateException    {@code -Dio.tarq.kernels=panama} where the Vector API kernels cannot run
     */
    public static TarqModel open(Path path) throws IOException {
        return open(path, Kernels.get(), ItemVectors.FLOAT32);
    }

    /**
     * Opens a model whose candidate scans read {@code itemVectors} ({@link ItemVectors#SQ8}: the 8-bit copy), with
     * the kernels this JVM supports. Checks as {@link #open(Path)}.
     *
     * @param path        the model file
     * @param itemVectors what the TT and TARQ scans read for the two-tower term
     * @return the open model
     * @throws ModelFormatException     the file is not a valid model
     * @throws IOException              the file cannot be read
     * @throws NullPointerException     {@code itemVectors} is null
     * @throws IllegalArgumentException {@code -Dio.tarq.kernels} has a value other than {@code scalar} or
     *                                  {@code panama}
     * @throws IllegalStateException    {@code -Dio.tarq.kernels=panama} where the Vector API kernels cannot run
     */
    public static TarqModel open(Path path, ItemVectors itemVectors) throws IOException {
        return open(path, Kernels.get(), itemVectors);
    }

    /** Opens a model with the given kernels (the engine's tests compare implementations this way). */
    static TarqModel open(Path path, KernelSupport kernels) throws IOException {
        return open(path, kernels, ItemVectors.FLOAT32);
    }

    /** Opens a model with the given kernels and item vectors. */
    static TarqModel open(Path path, KernelSupport kernels, ItemVectors itemVectors) throws IOException {
        java.util.Objects.requireNonNull(itemVectors, "itemVectors");
        TarqModelFile file = TarqModelFile.open(path);
        try {
            return new TarqModel(file, kernels, itemVectors);
        } catch (IOException | RuntimeException | Error e) {
            file.close();
            throw e;
        }
    }

    private static MemorySegment transposeCodes(TarqModelFile file, Arena arena) {
        TarqDimensions dims = file.dimensions();
        int levels = dims.levels();
        long n = dims.items();
        TensorView codes = file.tensor(TarqTensors.ITEM_CODES);
        MemorySegment levelMajor = codes.segment();
        MemorySegment byItem = arena.allocate(n * levels, 64);
        for (int l = 0; l < levels; l++) {
            for (long row = 0; row < n; row++) {
                byItem.set(Layouts.U8, row * levels + l, levelMajor.get(Layouts.U8, l * n + row));
            }
        }
        return byItem;
    }

    /**
     * Creates a scorer for one thread: it owns all the scratch memory a request needs and serves one thread at a
     * time. Allocates the scorer's fixed buffers (sized by the model's dimensions); its per-candidate buffers start
     * empty and grow with the first requests.
     *
     * @return a new scorer with default settings ({@link RequestLimits#DEFAULT}, unknown candidates throw)
     * @throws IllegalStateException the model is closed
     */
    public Scorer newScorer() {
        checkOpen();
        return new Scorer(this, metrics);
    }

    /** A scorer that records into {@code into} (the engine's counters, which outlive a model version). */
    Scorer newScorer(RequestMetrics into) {
        checkOpen();
        return new Scorer(this, into);
    }

    /**
     * Returns the counters of the requests served by this model's scorers from {@link #newScorer()} (an engine's
     * scorers count in {@link TarqEngine#metrics()} instead).
     *
     * @return the live counters; thread-safe, never null
     */
    public RequestMetrics metrics() {
        return metrics;
    }

    /**
     * Returns the model's dimensions, read from the file's metadata.
     *
     * @return the dimensions
     */
    public TarqDimensions dimensions() {
        return file.dimensions();
    }

    /**
     * The model's format version: {@link TarqDimensions#FORMAT_VERSION_1} (no cross head) or
     * {@link TarqDimensions#FORMAT_VERSION_2} (the cross head).
     *
     * @return 1 or 2
     */
    public int formatVersion() {
        return file.dimensions().formatVersion();
    }

    /**
     * Whether the model has the cross head (format version 2): its TARQ and TA logits then carry the candidate's
     * product with the attention output (docs/model.md).
     *
     * @return true for a format-2 model
     */
    public boolean crossHead() {
        return file.dimensions().crossHead();
    }

    /**
     * Whether {@code id} is one of the model's items, so a request naming it as a candidate scores it.
     *
     * @param id an item id
     * @return true if the catalog has the item; a hash lookup, no allocation
     * @throws IllegalStateException if the model is closed
     */
    public boolean containsItem(long id) {
        checkOpen();
        return file.itemIndex().row(id) != IdIndex.MISSING;
    }

    /**
     * Whether {@code id} is one of the model's users (an unknown user scores as the model's row 0).
     *
     * @param id a user id
     * @return true if the model has a row for the user; a hash lookup, no allocation
     * @throws IllegalStateException if the model is closed
     */
    public boolean containsUser(long id) {
        checkOpen();
        return file.userIndex().row(id) != IdIndex.MISSING;
    }

    /**
     * The item ids in catalog row order ({@code item.ids}): for a server that draws or checks candidates, or a load
     * generator. A new array each call (N longs).
     *
     * @return a copy of the model's item ids
     * @throws IllegalStateException if the model is closed
     */
    public long[] itemIds() {
        checkOpen();
        return file.tensor(TarqTensors.ITEM_IDS).toLongArray();
    }

    /**
     * The user ids in row order ({@code user.ids}); row 0 is the unknown user. A new array each call (U longs).
     *
     * @return a copy of the model's user ids
     * @throws IllegalStateException if the model is closed
     */
    public long[] userIds() {
        checkOpen();
        return file.tensor(TarqTensors.USER_IDS).toLongArray();
    }

    /**
     * Returns the mapped model file (metadata, tensors, id indexes). It belongs to this model: closing the model
     * closes it.
     *
     * @return the model file
     */
    public TarqModelFile file() {
        return file;
    }

    /**
     * Returns the name of the kernel implementation the model's scorers use.
     *
     * @return {@code "panama"} or {@code "scalar"}
     */
    public String kernelName() {
        return kernels.name();
    }

    KernelSupport kernels() {
        return kernels;
    }

    ModelWeights weights() {
        return weights;
    }

    MemorySegment codesByItem() {
        return codesByItem;
    }

    /**
     * Returns what the candidate scans read for the two-tower term, as chosen at open.
     *
     * @return {@link ItemVectors#FLOAT32}, {@link ItemVectors#SQ8}, or {@link ItemVectors#RECORDS} (a version-1 model
     *         opened with {@code RECORDS} reports {@code FLOAT32}: it has no cross rows to place)
     */
    public ItemVectors itemVectors() {
        return quantizedVectors != null ? ItemVectors.SQ8 : records != null ? ItemVectors.RECORDS : ItemVectors.FLOAT32;
    }

    /** The float records of {@code item.vec} and {@code item.cross}, or null when the scans read the file's rows. */
    ItemRecords records() {
        return records;
    }

    /** The 8-bit copy of {@code item.vec}, or null when the scans read the float rows. */
    QuantizedItemVectors quantizedVectors() {
        return quantizedVectors;
    }

    void checkOpen() {
        if (!file.isOpen()) {
            throw new IllegalStateException(file.path() + ": the model is closed");
        }
    }

    /**
     * Returns whether the model is open.
     *
     * @return false once {@link #close()} has run
     */
    public boolean isOpen() {
        return file.isOpen();
    }

    /**
     * Unmaps the file and frees the derived off-heap data; scorers used afterwards throw
     * {@link IllegalStateException}. Idempotent.
     */
    @Override
    public synchronized void close() {
        file.close();
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
