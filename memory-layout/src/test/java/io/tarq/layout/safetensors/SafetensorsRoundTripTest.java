package io.tarq.layout.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.layout.Layouts;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void everyDtypeAndShapeRoundTrips() throws IOException {
        Random random = new Random(42);
        SafetensorsWriter w = new SafetensorsWriter().metadata("producer", "test \"quoted\"\nnew line é");
        byte[][] contents = new byte[DType.values().length][];
        for (DType t : DType.values()) {
            long[] shape = {1 + random.nextInt(5), 1 + random.nextInt(7)};
            byte[] bytes = new byte[(int) (shape[0] * shape[1] * t.byteSize())];
            random.nextBytes(bytes);
            contents[t.ordinal()] = bytes;
            w.addRaw("t." + t, t, shape, bytes);
        }
        w.addRaw("scalar", DType.F32, new long[0], new byte[4]);
        w.addRaw("empty", DType.F32, new long[] {0, 64}, new byte[0]);
        Path file = dir.resolve("all.safetensors");
        w.write(file);

        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(Map.of("producer", "test \"quoted\"\nnew line é"), f.metadata());
            for (DType t : DType.values()) {
                TensorView v = f.tensor("t." + t);
                assertEquals(t, v.dtype());
                assertArrayEquals(contents[t.ordinal()], v.segment().toArray(ValueLayout.JAVA_BYTE), t.name());
            }
            assertEquals(0, f.tensor("scalar").rank());
            assertEquals(1, f.tensor("scalar").elementCount());
            assertEquals(0, f.tensor("empty").byteSize());
            assertEquals(DType.values().length + 2, f.tensors().size());
        }
    }

    @Test
    void typedAccessorsReadLittleEndianValuesAndCheckTheDtype() throws IOException {
        Path file = dir.resolve("typed.safetensors");
        float[] floats = {1.5f, -2.25f, Float.MIN_VALUE, 3e38f};
        long[] longs = {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE};
        new SafetensorsWriter().addFloats("f", new long[] {2, 2}, floats).addLongs("l", new long[] {4}, longs)
                .addRaw("u", DType.U8, new long[] {3}, new byte[] {0, 127, (byte) 255}).write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(floats, f.tensor("f").toFloatArray());
            assertEquals(-2.25f, f.tensor("f").getFloat(1));
            assertArrayEquals(longs, f.tensor("l").toLongArray());
            assertEquals(255, f.tensor("u").getUnsignedByte(2));
            assertThrows(IllegalStateException.class, () -> f.tensor("l").getFloat(0));
            assertThrows(IndexOutOfBoundsException.class, () -> f.tensor("f").getFloat(4));
        }
    }

    /** The writer's layout rule: data section on 64 bytes, each tensor on a multiple of its alignment class. */
    @Test
    void writerAlignsTheDataSectionAndEveryTensor() throws IOException {
        Random random = new Random(3);
        SafetensorsWriter w = new SafetensorsWriter().metadata("k", "v".repeat(random.nextInt(50)));
        for (int i = 0; i < 40; i++) {
            DType t = DType.values()[random.nextInt(DType.values().length)];
            long[] shape = {random.nextInt(40), 1 + random.nextInt(3) * 16};
            w.addRaw("t" + i, t, shape, new byte[(int) (shape[0] * shape[1] * t.byteSize())]);
        }
        Path file = dir.resolve("aligned.safetensors");
        w.write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(0, f.dataOffset() % SafetensorsWriter.DATA_ALIGNMENT);
            long dataStart = f.tensors().getFirst().segment().address();
            for (TensorView v : f.tensors()) {
                long offset = v.segment().address() - dataStart;
                long alignmentClass = v.byteSize() == 0 ? 64 : Math.min(64, Long.lowestOneBit(v.byteSize()));
                assertEquals(0, offset % alignmentClass, v + " at data byte " + offset);
                assertEquals(0, v.segment().address() % alignmentClass, v + " address");
            }
        }
    }

    @Test
    void writeIsAtomicAndLeavesNoTemporaryFile() throws IOException {
        Path file = dir.resolve("m.safetensors");
        Files.writeString(file, "old contents");
        SafetensorsWriter failing = new SafetensorsWriter()
                .addFloats("a", new long[] {16}, new float[16])
                .add("b", DType.F32, new long[] {16}, dst -> {
                    throw new IOException("disk on fire");
                });
        IOException e = assertThrows(IOException.class, () -> failing.write(file));
        assertEquals("disk on fire", e.getMessage());
        assertEquals("old contents", Files.readString(file), "a failed write must not touch the target");
        new SafetensorsWriter().addFloats("a", new long[] {16}, new float[16]).write(file);
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void writtenFilesGetTheUmasksPermissionsNotPrivateTemporaryOnes() throws IOException {
        Path file = dir.resolve("perm.safetensors");
        new SafetensorsWriter().addFloats("a", new long[] {16}, new float[16]).write(file);
        Path plain = Files.createFile(dir.resolve("plain"));
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(file));
    }

    @Test
    void writerRefusesWhatTheFormatCannotHold() {
        SafetensorsWriter w = new SafetensorsWriter().addFloats("a", new long[] {2}, new float[2]);
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("a", new long[] {2}, new float[2]));
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("__metadata__", new long[] {2}, new float[2]));
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("b", new long[] {3}, new float[2]));
        assertThrows(IllegalArgumentException.class, () -> w.addRaw("c", DType.F32, new long[] {-1}, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> w.addRaw("d", DType.I64, new long[] {2}, new byte[8]));
    }

    @Test
    void readsFilesOfOtherWritersWhateverTheirAlignment() throws IOException {
        // Packed with no alignment at all: a U8 tensor of 3 bytes, then floats starting at an odd offset.
        String header = "{" + RawFiles.entry("u", "U8", "[3]", 0, 3) + "," + RawFiles.entry("f", "F32", "[2]", 3, 11) + "}  ";
        byte[] data = new byte[11];
        java.nio.ByteBuffer.wrap(data).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(3, 7.5f).putFloat(7, -1f);
        Path file = RawFiles.write(dir.resolve("odd.safetensors"), header, data);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(7.5f, f.tensor("f").getFloat(0));
            assertEquals(-1f, f.tensor("f").segment().getAtIndex(Layouts.F32, 1));
        }
    }

    @Test
    void viewsAfterCloseThrowInsteadOfCrashing() throws IOException {
        Path file = dir.resolve("c.safetensors");
        new SafetensorsWriter().addFloats("a", new long[] {16}, new float[16]).write(file);
        SafetensorsFile f = SafetensorsFile.open(file);
        TensorView a = f.tensor("a");
        assertEquals(0f, a.getFloat(3));
        f.close();
        f.close(); // idempotent
        assertFalse(f.isOpen());
        assertThrows(IllegalStateException.class, () -> a.getFloat(3));
        assertTrue(a.toString().contains("a F32[16]"));
    }
}
