package io.tarq.layout.safetensors;

import io.tarq.layout.Layouts;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file, laid out so that mapped tensors are aligned for vector loads without breaking the
 * format's rule that tensors tile the data section with no gaps:
 * <ul>
 *   <li>the header is padded with spaces so that the data section starts at a multiple of {@value #DATA_ALIGNMENT};
 *   <li>tensors are ordered by alignment class {@code a(t) = min(64, largest power of two dividing byteSize(t))},
 *       largest first, ties in the order they were added. Every tensor then starts at a multiple of its own class,
 *       because all tensors before it have byte sizes that are multiples of a class at least as large.
 * </ul>
 * Tensor bytes are produced by {@link TensorFiller}s writing straight into the mapped output, so a multi-gigabyte
 * model never needs a heap copy. The file appears under its name only when complete (written to a temporary file
 * in the same directory, forced to disk, then renamed).
 *
 * <p>Not thread-safe: add tensors and write from one thread. A filler may use several threads to fill its own
 * segment (the output is mapped in a shared arena).
 */
public final class SafetensorsWriter {
    /** Bytes the data section's start is aligned to, and the largest alignment class of a tensor: a cache line. */
    public static final int DATA_ALIGNMENT = 64;

    /** An empty writer: add metadata and tensors, then {@code write} the file. */
    public SafetensorsWriter() {
    }

    /** Writes one tensor's bytes into {@code destination}, a segment of exactly the tensor's byte size. */
    @FunctionalInterface
    public interface TensorFiller {
        /**
         * Writes the tensor's bytes, little-endian, row-major.
         *
         * @param destination the tensor's slice of the mapped output file, exactly its byte size
         * @throws IOException the source of the bytes cannot be read; {@link #write(Path)} then fails and leaves
         *                     its target as it was
         */
        void fill(MemorySegment destination) throws IOException;
    }

    private record Pending(String name, DType dtype, long[] shape, long byteSize, TensorFiller filler) {
        int alignmentClass() {
            return byteSize == 0 ? DATA_ALIGNMENT : (int) Math.min(DATA_ALIGNMENT, Long.lowestOneBit(byteSize));
        }
    }

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Pending> tensors = new LinkedHashMap<>();

    /**
     * Sets one {@code __metadata__} entry; a key set again keeps its first position and takes the new value.
     *
     * @param key   the key
     * @param value the value
     * @return this writer
     */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /**
     * Sets several {@code __metadata__} entries, as {@link #metadata(String, String)} for each in the map's order.
     *
     * @param entries the entries
     * @return this writer
     */
    public SafetensorsWriter metadata(Map<String, String> entries) {
        metadata.putAll(entries);
        return this;
    }

    /**
     * Adds a tensor whose bytes {@code filler} writes when the file is written.
     *
     * @param name   the tensor's name, unique in the file
     * @param dtype  its element type
     * @param shape  its shape (copied)
     * @param filler writes its bytes, called once by each {@link #write(Path)}
     * @return this writer
     * @throws IllegalArgumentException {@code name} is {@code __metadata__} or was added before, or the shape has a
     *                                  negative extent
     * @throws ArithmeticException      the tensor's byte size overflows a long
     */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, TensorFiller filler) {
        if (name.equals(SafetensorsHeader.METADATA_KEY)) {
            throw new IllegalArgumentException("a tensor cannot be named " + name);
        }
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor " + name + " added twice");
        }
        long byteSize = dtype.byteSize();
        for (long s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("tensor " + name + ": negative extent in shape " + Arrays.toString(shape));
            }
            byteSize = Math.multiplyExact(byteSize, s);
        }
        tensors.put(name, new Pending(name, dtype, shape.clone(), byteSize, filler));
        return this;
    }

    /**
     * Adds an F32 tensor from a float array, which is read when the file is written (not copied now).
     *
     * @param name   the tensor's name, unique in the file
     * @param shape  its shape
     * @param values its elements, row-major, exactly the shape's element count
     * @return this writer
     * @throws IllegalArgumentException {@code values} does not hold the shape's element count, {@code name} is
     *                                  {@code __metadata__} or was added before, or the shape has a negative extent
     */
    public SafetensorsWriter addFloats(String name, long[] shape, float[] values) {
        return add(name, DType.F32, shape, checked(name, shape, values.length,
                dst -> MemorySegment.copy(values, 0, dst, Layouts.F32, 0, values.length)));
    }

    /**
     * Adds an I64 tensor from a long array, which is read when the file is written (not copied now).
     *
     * @param name   the tensor's name, unique in the file
     * @param shape  its shape
     * @param values its elements, row-major, exactly the shape's element count
     * @return this writer
     * @throws IllegalArgumentException {@code values} does not hold the shape's element count, {@code name} is
     *                                  {@code __metadata__} or was added before, or the shape has a negative extent
     */
    public SafetensorsWriter addLongs(String name, long[] shape, long[] values) {
        return add(name, DType.I64, shape, checked(name, shape, values.length,
                dst -> MemorySegment.copy(values, 0, dst, Layouts.I64, 0, values.length)));
    }

    /**
     * Adds a tensor of any dtype from its raw little-endian bytes, which are read when the file is written (not
     * copied now).
     *
     * @param name              the tensor's name, unique in the file
     * @param dtype             its element type
     * @param shape             its shape
     * @param littleEndianBytes its bytes, exactly the shape's element count times the dtype's size
     * @return this writer
     * @throws IllegalArgumentException the byte count does not match the shape, {@code name} is {@code __metadata__}
     *                                  or was added before, or the shape has a negative extent
     * @throws ArithmeticException      the tensor's byte size overflows a long
     */
    public SafetensorsWriter addRaw(String name, DType dtype, long[] shape, byte[] littleEndianBytes) {
        add(name, dtype, shape, dst -> MemorySegment.copy(littleEndianBytes, 0, dst, ValueLayout.JAVA_BYTE, 0,
                littleEndianBytes.length));
        long byteSize = tensors.get(name).byteSize();
        if (byteSize != littleEndianBytes.length) {
            tensors.remove(name);
            throw new IllegalArgumentException("tensor " + name + ": shape " + Arrays.toString(shape) + " of " + dtype
                    + " needs " + byteSize + " bytes but " + littleEndianBytes.length + " were given");
        }
        return this;
    }

    /**
     * Adds a tensor of another file unchanged: same name, dtype, shape and bytes. The source's file must still be
     * open when {@link #write(Path)} runs.
     *
     * @param source the tensor to copy
     * @return this writer
     * @throws IllegalArgumentException a tensor of that name was added before
     */
    public SafetensorsWriter copyOf(TensorView source) {
        return add(source.name(), source.dtype(), source.shape(), dst -> dst.copyFrom(source.segment()));
    }

    private static TensorFiller checked(String name, long[] shape, int length, TensorFiller filler) {
        long count = 1;
        for (long s : shape) {
            count *= s;
        }
        if (count != length) {
            throw new IllegalArgumentException("tensor " + name + ": shape " + Arrays.toString(shape) + " holds " + count
                    + " elements but " + length + " were given");
        }
        return filler;
    }

    /**
     * Writes the file; {@code target} is replaced only once the new file is complete. Creates missing parent
     * directories. The header, metadata first, is padded so that the data section starts at a multiple of
     * {@value #DATA_ALIGNMENT}. On any failure the temporary file is deleted and {@code target} is untouched.
     *
     * @param target the file to write
     * @throws IOException a directory or file cannot be created or written, or a filler failed ({@code target} an
     *                     existing directory: a {@link FileSystemException} naming it, before any work)
     */
    public void write(Path target) throws IOException {
        if (Files.isDirectory(target)) {
            // Else the final rename fails, after all the work, naming the temporary file first.
            throw new FileSystemException(target.toString(), null, "is a directory, not a .safetensors file");
        }
        List<Pending> order = new ArrayList<>(tensors.values());
        order.sort(Comparator.comparingInt(Pending::alignmentClass).reversed()); // stable: ties keep insertion order

        byte[] header = headerBytes(order);
        long dataOffset = SafetensorsFile.HEADER_LENGTH_BYTES + header.length;
        long dataByteSize = order.stream().mapToLong(Pending::byteSize).sum();

        Path directory = target.toAbsolutePath().getParent();
        Files.createDirectories(directory);
        // Not Files.createTempFile: it makes the file private (0600), and the model must end up with the permissions
        // any new file gets (the umask's), readable by the server that maps it.
        Path temporary = Files.createFile(directory.resolve(
                "." + target.getFileName() + "." + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".partial"));
        try {
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.READ, StandardOpenOption.WRITE);
                 Arena arena = Arena.ofShared()) { // fillers may write from several threads
                long fileByteSize = dataOffset + dataByteSize;
                MemorySegment file = channel.map(FileChannel.MapMode.READ_WRITE, 0, fileByteSize, arena);
                file.set(Layouts.I64, 0, header.length);
                MemorySegment.copy(header, 0, file, ValueLayout.JAVA_BYTE, SafetensorsFile.HEADER_LENGTH_BYTES, header.length);
                long offset = dataOffset;
                for (Pending t : order) {
                    t.filler().fill(file.asSlice(offset, t.byteSize()));
                    offset += t.byteSize();
                }
                file.force();
            }
            Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /** Compact JSON: metadata first, then the tensors in data order, padded to align the data section. */
    private byte[] headerBytes(List<Pending> order) {
        StringBuilder json = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            json.append(Json.quote(SafetensorsHeader.METADATA_KEY)).append(":{");
            String separator = "";
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                json.append(separator).append(Json.quote(e.getKey())).append(':').append(Json.quote(e.getValue()));
                separator = ",";
            }
            json.append('}');
        }
        long offset = 0;
        for (Pending t : order) {
            if (json.length() > 1) {
                json.append(',');
            }
            json.append(Json.quote(t.name())).append(":{\"dtype\":\"").append(t.dtype().name()).append("\",\"shape\":[");
            for (int i = 0; i < t.shape().length; i++) {
                json.append(i == 0 ? "" : ",").append(t.shape()[i]);
            }
            json.append("],\"data_offsets\":[").append(offset).append(',').append(offset + t.byteSize()).append("]}");
            offset += t.byteSize();
        }
        json.append('}');
        byte[] unpadded = json.toString().getBytes(StandardCharsets.UTF_8);
        long unaligned = SafetensorsFile.HEADER_LENGTH_BYTES + unpadded.length;
        int padding = (int) ((DATA_ALIGNMENT - unaligned % DATA_ALIGNMENT) % DATA_ALIGNMENT);
        byte[] padded = Arrays.copyOf(unpadded, unpadded.length + padding);
        Arrays.fill(padded, unpadded.length, padded.length, (byte) ' ');
        return padded;
    }
}
