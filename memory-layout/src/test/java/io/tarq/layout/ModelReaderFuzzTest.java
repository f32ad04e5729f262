package io.tarq.layout;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.tarq.layout.safetensors.DType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Coverage-guided fuzzing of the model reader (Jazzer): any bytes, as a file, through {@link TarqModelFile#open} and
 * {@link TarqModelFile#verifyContents}, and every id index lookup. The reader's promise is that a file is either a
 * model or a {@link ModelFormatException} naming the file; anything else it throws (an unchecked exception, an
 * {@code OutOfMemoryError}, a hang) is a finding.
 *
 * <p>In `mvn test` without {@code JAZZER_FUZZ} this replays the seeds below and the inputs directory
 * ({@code src/test/resources/io/tarq/layout/ModelReaderFuzzTestInputs/}); the module's {@code fuzz} execution sets
 * {@code JAZZER_FUZZ=1} and fuzzes for {@code tarq.fuzz.duration}. docs/reliability.md has the longer run.
 */
class ModelReaderFuzzTest {
    private static Path scratch;

    /** Valid files for the fuzzer to start from: small, so that mutations reach the header often. */
    static Stream<Arguments> seeds() throws IOException {
        Path dir = Files.createTempDirectory("tarq-fuzz-seeds");
        TinyModel smallest = new TinyModel(3, 16, 1, 16, 2, 1, 2, 2, 1);
        TinyModel withParts = new TinyModel(5, 16, 2, 16, 3, 2, 4, 3, 2);
        withParts.floats("ta.attn.null_k", 2, 8).floats("rq.attn.null_k", 2, 8);
        TinyModel bareSafetensors = new TinyModel(2, 16, 1, 16, 1, 1, 2, 1, 1);
        bareSafetensors.metadata.clear();
        bareSafetensors.tensors.keySet().retainAll(java.util.Set.of("item.ids", "head.tau"));
        bareSafetensors.put("x.u8", DType.U8, new long[] {3}, new byte[] {1, 2, 3});
        try {
            return Stream.of(smallest, withParts, bareSafetensors).map(m -> {
                try {
                    Path p = m.write(Files.createTempFile(dir, "seed", ".safetensors"));
                    return Arguments.of((Object) Files.readAllBytes(p));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).toList().stream();
        } finally {
            try (Stream<Path> files = Files.list(dir)) {
                files.forEach(p -> p.toFile().delete());
            }
            Files.delete(dir);
        }
    }

    @MethodSource("seeds")
    @DictionaryEntries({"\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"I64\"", "\"U8\"",
            "\"item.codes\"", "\"item.ids\"", "\"user.ids\"", "\"n_max\"", "\"levels\"", "\"codebook_size\"", "\"items\"",
            "\"format_version\"", "\\\\u", "1e400", "-0", "18446744073709551615", "9223372036854775807"})
    @FuzzTest(maxDuration = "15s")
    void openAndVerify(byte[] bytes) throws IOException {
        Path file = scratchFile();
        Files.write(file, bytes);
        try (TarqModelFile model = TarqModelFile.open(file)) {
            model.verifyContents();
            // The engine resolves ids through these at every request: they must answer for any id without throwing.
            model.itemIndex().row(bytes.length);
            model.userIndex().row(-1);
        } catch (ModelFormatException expected) {
            assertTrue(expected.getMessage().startsWith(file + ": "), expected.getMessage());
            assertTrue(expected.getMessage().lines().count() == 1, expected.getMessage());
        }
    }

    private static synchronized Path scratchFile() throws IOException {
        if (scratch == null) {
            scratch = Files.createTempFile("tarq-fuzz", ".safetensors");
            scratch.toFile().deleteOnExit();
        }
        return scratch;
    }
}
