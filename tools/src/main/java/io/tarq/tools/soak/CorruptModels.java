package io.tarq.tools.soak;

import io.tarq.layout.TarqTensors;
import io.tarq.layout.safetensors.SafetensorsFile;
import io.tarq.layout.safetensors.TensorView;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;

/**
 * Broken copies of a valid model, one for each way a file arrives broken in practice; every one must be rejected by a
 * swap. A truncated copy (an upload cut short) fails the reader's size checks; a header length of 2^63 − 1 (a
 * corrupt first block) fails before anything is allocated; a NaN in {@code head.tau} (a bad export) is structurally
 * valid and is caught only by the content checks a swap runs by default.
 */
public final class CorruptModels {
    private CorruptModels() {
    }

    /** Writes the three broken copies of {@code valid} into {@code dir}; returns their paths. */
    public static List<Path> write(Path valid, Path dir) throws IOException {
        String name = valid.getFileName().toString();
        return List.of(truncated(valid, dir.resolve("truncated-" + name)),
                absurdHeaderLength(valid, dir.resolve("header-" + name)),
                nanWeight(valid, dir.resolve("nan-" + name)));
    }

    static Path truncated(Path valid, Path out) throws IOException {
        byte[] bytes = Files.readAllBytes(valid);
        return Files.write(out, Arrays.copyOf(bytes, bytes.length / 2));
    }

    static Path absurdHeaderLength(Path valid, Path out) throws IOException {
        return overwrite(valid, out, 0, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE));
    }

    static Path nanWeight(Path valid, Path out) throws IOException {
        long offset;
        try (SafetensorsFile file = SafetensorsFile.open(valid)) {
            // The reader checked that tensors tile the data section in this order, so offsets are running sums.
            offset = file.dataOffset();
            for (TensorView t : file.tensors()) {
                if (t.name().equals(TarqTensors.HEAD_TAU)) {
                    break;
                }
                offset += t.byteSize();
            }
        }
        return overwrite(valid, out, offset, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, Float.NaN));
    }

    private static Path overwrite(Path valid, Path out, long offset, ByteBuffer bytes) throws IOException {
        Files.copy(valid, out, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel channel = FileChannel.open(out, StandardOpenOption.WRITE)) {
            channel.write(bytes, offset);
        }
        return out;
    }
}
