package io.tarq.layout.safetensors;

import io.tarq.layout.Layouts;
import io.tarq.layout.ModelFormatException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A safetensors file mapped read-only off-heap.
 *
 * <pre>
 *  0          8                       8 + H                                  file end
 *  +----------+-----------------------+--------------------------------------+
 *  | H (u64)  | JSON header (H bytes) | tensor bytes, back to back           |
 *  +----------+-----------------------+--------------------------------------+
 * </pre>
 *
 * Opening maps the whole file, reads and checks the header (see {@link SafetensorsHeader}) and slices one
 * {@link TensorView} per tensor. It reads no tensor byte: the page cache brings pages in as the engine touches them.
 * The mapping belongs to a shared {@link Arena}; {@link #close()} unmaps it, after which every view throws
 * {@link IllegalStateException} rather than touching freed memory. Thread-safe: immutable once open, views may be
 * read from any thread, and {@link #close()} is synchronized.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Bytes of the little-endian header length that starts every file. */
    public static final int HEADER_LENGTH_BYTES = 8;
    /** The reference implementation's limit; a longer header is an attack or a corrupt length. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private final Path path;
    private final Arena arena;
    private final long fileByteSize;
    private final long dataOffset;
    private final Map<String, String> metadata;
    private final Map<String, TensorView> tensors; // in data order

    private SafetensorsFile(Path path, Arena arena, long fileByteSize, long dataOffset,
                            Map<String, String> metadata, Map<String, TensorView> tensors) {
        this.path = path;
        this.arena = arena;
        this.fileByteSize = fileByteSize;
        this.dataOffset = dataOffset;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /**
     * Maps and checks {@code path}: header length, JSON, every entry's dtype, shape and byte range, and that the
     * tensors tile the data section. On failure nothing stays mapped.
     *
     * @param path the file
     * @return the open file
     * @throws ModelFormatException the file breaks the format (the message names the file, the tensor and the fault)
     * @throws IOException          the file cannot be read ({@link java.nio.file.NoSuchFileException} when it does
     *                              not exist; a {@link FileSystemException} naming the path when it is a directory
     *                              or another kind of non-regular file)
     */
    public static SafetensorsFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            return map(path, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static SafetensorsFile map(Path path, Arena arena) throws IOException {
        checkRegularFile(path);
        MemorySegment mapping;
        long fileByteSize;
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            fileByteSize = channel.size();
            if (fileByteSize < HEADER_LENGTH_BYTES) {
                throw new ModelFormatException(path, null, "file is " + fileByteSize
                        + " bytes, shorter than the " + HEADER_LENGTH_BYTES + "-byte header length");
            }
            mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, fileByteSize, arena);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(path.toString(), null, "no such file");
        }
        long headerByteSize = mapping.get(Layouts.I64, 0);
        // Unsigned: a length with the top bit set is as absurd as any other huge one.
        if (headerByteSize < 0 || headerByteSize > MAX_HEADER_BYTES) {
            throw new ModelFormatException(path, "header", "length " + Long.toUnsignedString(headerByteSize)
                    + " is absurd (limit " + MAX_HEADER_BYTES + " bytes)");
        }
        if (headerByteSize > fileByteSize - HEADER_LENGTH_BYTES) {
            throw new ModelFormatException(path, "header", "length " + headerByteSize + " runs past the end of the file ("
                    + fileByteSize + " bytes)");
        }
        byte[] headerBytes = mapping.asSlice(HEADER_LENGTH_BYTES, headerByteSize).toArray(ValueLayout.JAVA_BYTE);
        long dataOffset = HEADER_LENGTH_BYTES + headerByteSize;
        SafetensorsHeader header = SafetensorsHeader.parse(path, headerBytes, fileByteSize - dataOffset);

        Map<String, TensorView> views = new LinkedHashMap<>();
        for (TensorEntry t : header.tensors()) {
            MemorySegment slice = mapping.asSlice(dataOffset + t.begin(), t.end() - t.begin());
            views.put(t.name(), new TensorView(t.name(), t.dtype(), t.shape(), slice));
        }
        return new SafetensorsFile(path, arena, fileByteSize, dataOffset, header.metadata(),
                Collections.unmodifiableMap(views));
    }

    /**
     * Linux opens a directory for reading and then fails to map it with ENODEV, "No such device", a message that
     * names neither the path nor the mistake; a pipe or a device cannot be mapped either.
     */
    private static void checkRegularFile(Path path) throws IOException {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(path.toString(), null, "no such file");
        }
        if (attributes.isDirectory()) {
            throw new FileSystemException(path.toString(), null, "is a directory, not a .safetensors file");
        }
        if (!attributes.isRegularFile()) {
            throw new FileSystemException(path.toString(), null,
                    "is not a regular file (a .safetensors file is mapped into memory, so it cannot be a pipe or a device)");
        }
    }

    /**
     * Returns the file's path.
     *
     * @return the path it was opened from
     */
    public Path path() {
        return path;
    }

    /**
     * Returns the file's size.
     *
     * @return bytes mapped: the whole file
     */
    public long fileByteSize() {
        return fileByteSize;
    }

    /**
     * Returns where the data section starts.
     *
     * @return the file offset of the first tensor byte: 8 + the header length
     */
    public long dataOffset() {
        return dataOffset;
    }

    /**
     * Returns the header's {@code __metadata__}.
     *
     * @return an unmodifiable map, in header order; empty if the file has none
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Lists every tensor.
     *
     * @return an unmodifiable list of views, in data order (a new list each call)
     */
    public List<TensorView> tensors() {
        return List.copyOf(tensors.values());
    }

    /**
     * Looks up a tensor by name.
     *
     * @param name the tensor's name
     * @return its view, or empty when the file has no such tensor
     */
    public Optional<TensorView> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /**
     * Returns the tensor named {@code name}, for callers to which its absence is a format error.
     *
     * @param name the tensor's name
     * @return its view
     * @throws ModelFormatException the file has no such tensor (the message names it as missing)
     */
    public TensorView tensor(String name) throws ModelFormatException {
        TensorView view = tensors.get(name);
        if (view == null) {
            throw ModelFormatException.ofTensor(path, name, "missing");
        }
        return view;
    }

    /** Unmaps the file. Views read after this throw {@link IllegalStateException}. Idempotent. */
    @Override
    public synchronized void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    /**
     * Returns whether the file is still mapped.
     *
     * @return false once {@link #close()} ran
     */
    public boolean isOpen() {
        return arena.scope().isAlive();
    }
}
