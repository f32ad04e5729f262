package io.tarq.layout;

import io.tarq.layout.safetensors.SafetensorsFile;
import io.tarq.layout.safetensors.TensorView;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * A TARQ model file, open and checked: the safetensors file mapped read-only, its metadata and every tensor checked
 * against the contract, and the item and user id indexes built.
 *
 * <p>Opening reads the header, the two id tensors (8 bytes an item and a user), when L ≤ 4 the codes (L bytes an
 * item, see {@link #itemIndex()}), and with the cross head its tensors ({@code item.cross}: 4·dx bytes an item), which
 * must be finite: a NaN there would turn every score of its candidate into NaN, silently. It reads no other tensor
 * byte. {@link #verifyContents()} reads them all.
 * Thread-safe: everything is immutable once open, and tensor views may be read from any thread until {@link #close()}.
 */
public final class TarqModelFile implements AutoCloseable {
    private final SafetensorsFile file;
    /** Holds the id indexes' tables; closed with the file. */
    private final Arena indexArena;
    private final TarqDimensions dimensions;
    private final TarqTensors.Features features;
    private final IdIndex itemIndex;
    private final IdIndex userIndex;

    private TarqModelFile(SafetensorsFile file, Arena indexArena, TarqDimensions dimensions,
                          TarqTensors.Features features, IdIndex itemIndex, IdIndex userIndex) {
        this.file = file;
        this.indexArena = indexArena;
        this.dimensions = dimensions;
        this.features = features;
        this.itemIndex = itemIndex;
        this.userIndex = userIndex;
    }

    /**
     * Opens and checks a model file: maps it, checks the header, metadata and every tensor's dtype and shape, with
     * the cross head that its tensors are finite, and builds the id indexes. On any failure nothing stays open.
     *
     * @param path the model file
     * @return the open file
     * @throws ModelFormatException the file is not a valid TARQ model (the message names the file, tensor and fault)
     * @throws IOException          the file cannot be read
     */
    public static TarqModelFile open(Path path) throws IOException {
        SafetensorsFile file = SafetensorsFile.open(path);
        Arena indexArena = Arena.ofShared();
        try {
            TarqDimensions dimensions = TarqDimensions.fromMetadata(path, file.metadata());
            TarqTensors.Features features = TarqTensors.check(file, dimensions);
            if (dimensions.crossHead()) {
                TarqContentCheck.checkCrossHeadFinite(file);
            }
            IdIndex items = IdIndex.build(path, file.tensor(TarqTensors.ITEM_IDS), packedCodes(file, dimensions),
                    indexArena);
            IdIndex users = IdIndex.build(path, file.tensor(TarqTensors.USER_IDS), null, indexArena);
            return new TarqModelFile(file, indexArena, dimensions, features, items, users);
        } catch (IOException | RuntimeException e) {
            indexArena.close();
            file.close();
            throw e;
        }
    }

    /**
     * Runs the {@code --full} checks: no NaN or infinity in any F32 tensor, every code below K, every
     * {@code item.vec} row of unit length within 1e-3, with the cross head {@code item.cross} equal to
     * {@code W_x·item.emb + b_x} within 1e-5·max(1, |expected|), the attribute tables consistent. Reads every byte of
     * the file.
     *
     * @throws ModelFormatException  naming the tensor and the first element at fault, with its index
     * @throws IllegalStateException the file is closed
     */
    public void verifyContents() throws ModelFormatException {
        TarqContentCheck.run(file, dimensions, features);
    }

    /**
     * Runs the part of {@link #verifyContents()} about {@code item.codes}: every code below K. A server's open runs it
     * whatever else it checks: the engine reads every code at open anyway, and a code ≥ K would make a candidate read
     * another level's table entry, a wrong score rather than an error.
     *
     * @throws ModelFormatException  naming the tensor, the code and its [level, row]
     * @throws IllegalStateException the file is closed
     */
    public void verifyCodes() throws ModelFormatException {
        TarqContentCheck.checkCodes(file.path(), file.tensor(TarqTensors.ITEM_CODES), dimensions.codebookSize());
    }

    /**
     * Returns the file's path.
     *
     * @return the path it was opened from
     */
    public Path path() {
        return file.path();
    }

    /**
     * Returns the model's dimensions, checked against the contract at open.
     *
     * @return the dimensions
     */
    public TarqDimensions dimensions() {
        return dimensions;
    }

    /**
     * Returns the optional parts this file has.
     *
     * @return which of the null keys, DIN teacher head, item tower and attributes are present
     */
    public TarqTensors.Features features() {
        return features;
    }

    /**
     * Returns the file's metadata, every key included (also those the contract does not name).
     *
     * @return the unmodifiable {@code __metadata__} map
     */
    public Map<String, String> metadata() {
        return file.metadata();
    }

    /**
     * Returns what wrote the file.
     *
     * @return metadata {@code producer}
     */
    public String producer() {
        return file.metadata().get("producer");
    }

    /**
     * Returns a tensor the file holds (every required one; optional ones when {@link #features()} says so).
     *
     * @param name the tensor's name, e.g. {@link TarqTensors#ITEM_VEC}
     * @return its view
     * @throws IllegalArgumentException the file has no tensor {@code name}
     */
    public TensorView tensor(String name) {
        return file.find(name).orElseThrow(() -> new IllegalArgumentException(file.path() + ": no tensor " + name));
    }

    /**
     * Looks up a tensor that may be absent (an optional or extension tensor).
     *
     * @param name the tensor's name
     * @return its view, or empty when the file has no such tensor
     */
    public Optional<TensorView> findTensor(String name) {
        return file.find(name);
    }

    /**
     * External item id → row in {@code item.*} tensors. When {@link #codesInItemIndex()}, each id's payload is its L
     * codes packed little-endian, {@code code[l] = (payload >>> 8l) & 0xff}, so that resolving a candidate id also
     * brings its codes, from the cache line the lookup already fetched.
     *
     * @return the item index, built at open
     */
    public IdIndex itemIndex() {
        return itemIndex;
    }

    /**
     * Returns whether {@link #itemIndex()}'s payloads hold the items' codes.
     *
     * @return true when L ≤ 4, so that the codes fit in 32 bits
     */
    public boolean codesInItemIndex() {
        return codesInItemIndex(dimensions);
    }

    private static boolean codesInItemIndex(TarqDimensions dimensions) {
        return dimensions.levels() <= Integer.BYTES;
    }

    /**
     * Each item row's codes from {@code item.codes [L, N]} packed into an int, level l in byte l; null when L > 4.
     * The level-major tensor is copied out in chunks of a level's bytes (bulk copies, then a plain array loop).
     */
    private static int[] packedCodes(SafetensorsFile file, TarqDimensions dimensions) {
        if (!codesInItemIndex(dimensions)) {
            return null;
        }
        MemorySegment codes = file.find(TarqTensors.ITEM_CODES).orElseThrow().segment();
        int n = Math.toIntExact(dimensions.items());
        int[] packed = new int[n];
        byte[] chunk = new byte[Math.min(n, 1 << 16)];
        for (int l = 0; l < dimensions.levels(); l++) {
            int shift = 8 * l;
            for (int start = 0; start < n; start += chunk.length) {
                int length = Math.min(chunk.length, n - start);
                MemorySegment.copy(codes, Layouts.U8, (long) l * n + start, chunk, 0, length);
                for (int i = 0; i < length; i++) {
                    packed[start + i] |= Byte.toUnsignedInt(chunk[i]) << shift;
                }
            }
        }
        return packed;
    }

    /**
     * Returns the index from external user id to row in {@code user.emb}; callers map {@link IdIndex#MISSING} to
     * row 0, the unknown user.
     *
     * @return the user index, built at open
     */
    public IdIndex userIndex() {
        return userIndex;
    }

    /**
     * Returns the underlying safetensors file (all tensors, extension tensors included). It belongs to this file:
     * closing this closes it.
     *
     * @return the mapped safetensors file
     */
    public SafetensorsFile safetensors() {
        return file;
    }

    /**
     * Returns whether the file is still mapped.
     *
     * @return false once {@link #close()} has run
     */
    public boolean isOpen() {
        return file.isOpen();
    }

    /**
     * Unmaps the file and frees the id indexes; views and lookups afterwards throw {@link IllegalStateException}.
     * Idempotent.
     */
    @Override
    public synchronized void close() {
        file.close();
        if (indexArena.scope().isAlive()) {
            indexArena.close();
        }
    }
}
