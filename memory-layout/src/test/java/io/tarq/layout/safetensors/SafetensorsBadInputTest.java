package io.tarq.layout.safetensors;

import static io.tarq.layout.safetensors.RawFiles.entry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tarq.layout.ModelFormatException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every malformed file gets a {@link ModelFormatException} naming the file, the tensor and the fault. */
class SafetensorsBadInputTest {
    @TempDir
    Path dir;

    private ModelFormatException fails(Path file) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(file).close());
        assertTrue(e.getMessage().startsWith(file.toString() + ": "), e.getMessage());
        assertEquals(file, e.file());
        assertEquals(1, e.getMessage().lines().count(), "one line: " + e.getMessage());
        return e;
    }

    private void assertFault(ModelFormatException e, String subject, String faultFragment) {
        assertEquals(subject, e.subject(), e.getMessage());
        assertTrue(e.fault().contains(faultFragment), "expected '" + faultFragment + "' in: " + e.getMessage());
    }

    @Test
    void emptyFile() throws IOException {
        Path f = Files.write(dir.resolve("empty.safetensors"), new byte[0]);
        assertFault(fails(f), null, "0 bytes, shorter than the 8-byte header length");
    }

    @Test
    void shorterThanTheLengthField() throws IOException {
        Path f = Files.write(dir.resolve("short.safetensors"), new byte[] {1, 0, 0, 0, 0});
        assertFault(fails(f), null, "5 bytes");
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        Path f = RawFiles.write(dir.resolve("long.safetensors"), 1000, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]);
        assertFault(fails(f), "header", "runs past the end of the file");
    }

    @Test
    void absurdHeaderLengthIsRefusedBeforeAnyAllocation() throws IOException {
        Path huge = RawFiles.write(dir.resolve("huge.safetensors"), 1L << 40, new byte[0], new byte[16]);
        assertFault(fails(huge), "header", "absurd");
        Path negative = RawFiles.write(dir.resolve("neg.safetensors"), -8, new byte[0], new byte[16]);
        assertFault(fails(negative), "header", "18446744073709551608 is absurd");
    }

    @Test
    void invalidJson() throws IOException {
        assertFault(fails(RawFiles.write(dir.resolve("a.safetensors"), "{\"x\":", new byte[0])), "header", "invalid JSON");
        assertFault(fails(RawFiles.write(dir.resolve("b.safetensors"), "[1,2]", new byte[0])), "header", "not a JSON object");
        Path badUtf8 = RawFiles.write(dir.resolve("c.safetensors"), 4, new byte[] {'"', (byte) 0xC3, (byte) 0x28, '"'}, new byte[0]);
        assertFault(fails(badUtf8), "header", "not valid UTF-8");
    }

    @Test
    void unknownDtype() throws IOException {
        Path f = RawFiles.write(dir.resolve("d.safetensors"), "{" + entry("w", "F33", "[2]", 0, 8) + "}", new byte[8]);
        assertFault(fails(f), "tensor w", "unknown dtype \"F33\"");
    }

    @Test
    void entryFieldsMissingUnknownOrOfTheWrongType() throws IOException {
        assertFault(fails(RawFiles.write(dir.resolve("e1.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4])),
                "tensor w", "no \"data_offsets\"");
        assertFault(fails(RawFiles.write(dir.resolve("e2.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", new byte[4])), "tensor w", "unknown header field");
        assertFault(fails(RawFiles.write(dir.resolve("e3.safetensors"), "{\"w\":[]}", new byte[0])), "tensor w", "not a JSON object");
        assertFault(fails(RawFiles.write(dir.resolve("e4.safetensors"), "{" + entry("w", "F32", "[1.5]", 0, 4) + "}", new byte[4])),
                "tensor w", "shape[0] = 1.5 is not an integer");
        assertFault(fails(RawFiles.write(dir.resolve("e5.safetensors"), "{" + entry("w", "F32", "\"2\"", 0, 4) + "}", new byte[4])),
                "tensor w", "shape is not a JSON array");
        assertFault(fails(RawFiles.write(dir.resolve("e6.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", new byte[4])), "tensor w", "data_offsets has 1 entries, not 2");
    }

    @Test
    void byteRangeNotMatchingShapeTimesDtype() throws IOException {
        Path f = RawFiles.write(dir.resolve("f.safetensors"), "{" + entry("w", "F32", "[2,3]", 0, 12) + "}", new byte[12]);
        assertFault(fails(f), "tensor w", "data_offsets [0, 12] hold 12 bytes but shape [2, 3] of F32 needs 24");
    }

    @Test
    void offsetsPastTheEnd() throws IOException {
        Path f = RawFiles.write(dir.resolve("g.safetensors"), "{" + entry("w", "F32", "[4]", 0, 16) + "}", new byte[8]);
        assertFault(fails(f), "tensor w", "ends at data byte 16 but the file holds only 8 data bytes (file truncated?)");
    }

    @Test
    void negativeOrReversedOffsets() throws IOException {
        assertFault(fails(RawFiles.write(dir.resolve("h1.safetensors"), "{" + entry("w", "F32", "[1]", -4, 0) + "}", new byte[4])),
                "tensor w", "data_offsets[0] = -4 is negative");
        assertFault(fails(RawFiles.write(dir.resolve("h2.safetensors"), "{" + entry("w", "F32", "[0]", 4, 0) + "}", new byte[4])),
                "tensor w", "end before they begin");
        assertFault(fails(RawFiles.write(dir.resolve("h3.safetensors"), "{" + entry("w", "F32", "[-1]", 0, 4) + "}", new byte[4])),
                "tensor w", "shape[0] = -1 is negative");
    }

    @Test
    void overlappingTensors() throws IOException {
        String header = "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}";
        assertFault(fails(RawFiles.write(dir.resolve("i.safetensors"), header, new byte[12])), "tensor b", "overlap tensor a");
    }

    @Test
    void holesBetweenOrBeforeTensorsAndStrayBytesAfter() throws IOException {
        String gap = "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}";
        assertFault(fails(RawFiles.write(dir.resolve("j1.safetensors"), gap, new byte[12])), "tensor b", "hole of 4 bytes after tensor a");
        String late = "{" + entry("a", "F32", "[1]", 4, 8) + "}";
        assertFault(fails(RawFiles.write(dir.resolve("j2.safetensors"), late, new byte[8])), "tensor a", "hole of 4 bytes after the header");
        String exact = "{" + entry("a", "F32", "[1]", 0, 4) + "}";
        assertFault(fails(RawFiles.write(dir.resolve("j3.safetensors"), exact, new byte[9])), "data", "5 bytes after the last tensor");
    }

    @Test
    void shapeWhoseProductOverflows() throws IOException {
        String header = "{" + entry("w", "F32", "[4294967296,4294967296]", 0, 4) + "}";
        assertFault(fails(RawFiles.write(dir.resolve("k1.safetensors"), header, new byte[4])), "tensor w", "overflows");
        String big = "{" + entry("w", "U8", "[99999999999999999999]", 0, 4) + "}";
        assertFault(fails(RawFiles.write(dir.resolve("k2.safetensors"), big, new byte[4])), "tensor w", "does not fit in 63 bits");
    }

    @Test
    void duplicateTensor() throws IOException {
        String header = "{" + entry("w", "F32", "[1]", 0, 4) + "," + entry("w", "F32", "[1]", 4, 8) + "}";
        assertFault(fails(RawFiles.write(dir.resolve("l.safetensors"), header, new byte[8])), "tensor w", "appears twice");
    }

    @Test
    void metadataMustBeStrings() throws IOException {
        String header = "{\"__metadata__\":{\"format\":\"tarq\",\"d\":64}}";
        assertFault(fails(RawFiles.write(dir.resolve("m.safetensors"), header, new byte[0])), "metadata d", "not a string");
        assertFault(fails(RawFiles.write(dir.resolve("m2.safetensors"), "{\"__metadata__\":[]}", new byte[0])), "header", "not a JSON object");
    }

    @Test
    void truncatedAfterAValidHeader() throws IOException {
        Path good = dir.resolve("good.safetensors");
        new SafetensorsWriter().addFloats("a", new long[] {64}, new float[64]).addFloats("b", new long[] {64}, new float[64]).write(good);
        byte[] bytes = Files.readAllBytes(good);
        Path cut = Files.write(dir.resolve("cut.safetensors"), java.util.Arrays.copyOf(bytes, bytes.length - 100));
        assertFault(fails(cut), "tensor b", "file truncated?");
    }

    @Test
    void missingFileIsAPlainIoErrorNamingIt() {
        Path missing = dir.resolve("nope.safetensors");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> SafetensorsFile.open(missing));
        assertEquals(missing.toString(), e.getFile());
    }

    @Test
    void aDirectoryIsAnIoErrorNamingItInsteadOfNoSuchDevice() throws IOException {
        Path directory = Files.createDirectories(dir.resolve("model.safetensors"));
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> SafetensorsFile.open(directory));
        assertEquals(directory + ": is a directory, not a .safetensors file", e.getMessage());
    }

    @Test
    void writingOverADirectoryIsRefusedNamingIt() throws IOException {
        Path directory = Files.createDirectories(dir.resolve("out.safetensors"));
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> new SafetensorsWriter().addFloats("a", new long[] {4}, new float[4]).write(directory));
        assertEquals(directory + ": is a directory, not a .safetensors file", e.getMessage());
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".partial")), "no temporary file left");
        }
    }

    @Test
    void aPipeIsRefusedBeforeItIsOpened() throws Exception {
        Path fifo = dir.resolve("pipe.safetensors");
        assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0,
                "mkfifo");
        // Opening a FIFO for reading would block until a writer came: the check must come first.
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> SafetensorsFile.open(fifo));
        assertTrue(e.getMessage().startsWith(fifo + ": is not a regular file"), e.getMessage());
    }
}
