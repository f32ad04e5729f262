package io.tarq.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tarq.layout.safetensors.SafetensorsFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every finding of ModelReaderFuzzTest, as a named test. The crash files themselves also sit in
 * {@code ModelReaderFuzzTestInputs/openAndVerify/}, which Jazzer replays in every test run.
 */
class FuzzFindingsTest {
    @TempDir
    Path dir;

    private Path file(String header) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
        return Files.write(dir.resolve("f.safetensors"), b.array());
    }

    /** crash-9881a04b: `{"ite\\\…\` then carriage returns: the message quoted a raw CR and became two lines. */
    @Test
    void aCarriageReturnAfterABackslashInTheHeaderIsQuotedOnOneLine() throws IOException {
        Path crash = dir.resolve("crash.safetensors");
        try (InputStream in = getClass().getResourceAsStream(
                "ModelReaderFuzzTestInputs/openAndVerify/crash-9881a04b3f32b33ecf27813e01f9abcf3ff193fa")) {
            Files.write(crash, in.readAllBytes());
        }
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> TarqModelFile.open(crash));
        assertEquals(crash + ": header: invalid JSON: invalid escape '\\\\u000d' at character 24", e.getMessage());

        Path small = file("{\"a\\\r\":1}");
        assertEquals(1, assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(small)).getMessage().lines().count());
    }

    /** The same class of fault through a tensor name: JSON may spell a newline inside a key. */
    @Test
    void aTensorNameWithANewlineIsQuotedOnOneLine() throws IOException {
        Path f = file("{\"a\\nb\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(f));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertEquals("tensor a\\u000ab", e.subject());
    }

    @Test
    void oneLineLeavesPrintableTextAloneAndEscapesEveryLineBreak() {
        String plain = "tensor item.codes: code 300 ≥ K";
        assertEquals(plain, OneLine.of(plain));
        assertEquals("a\\u000d\\u000ab\\u0085c\\u2028d\\u2029e\\u0000", OneLine.of("a\r\nb\u0085c\u2028d\u2029e\0"));
    }
}
