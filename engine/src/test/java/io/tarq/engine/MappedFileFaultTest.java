package io.tarq.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model file truncated in place while it is mapped (a deployment that rewrites the served file instead of renaming
 * a new one over it): the pages past the new end are gone, and a read of them raises SIGBUS. HotSpot turns that into
 * an {@link InternalError} in the reading thread, also in C2-compiled code; the JVM does not crash. This pins that
 * behaviour, in every kernel configuration the engine's tests run; docs/reliability.md says to deploy by rename.
 */
class MappedFileFaultTest {
    @TempDir
    Path dir;

    @Test
    void aServedFileTruncatedInPlaceMakesRequestsFailNotTheJvm() throws IOException {
        Path file = dir.resolve("m.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(3000).withUsers(10), file);
        long[] candidates = LongStream.range(0, 3000).map(SyntheticModel::itemId).toArray();
        float[] out = new float[candidates.length];
        try (TarqModel model = TarqModel.open(file)) {
            Scorer scorer = model.newScorer();
            // Warm: the kernels run compiled when the file shrinks.
            for (int i = 0; i < 300; i++) {
                scorer.score(Mode.values()[i % 4], 1, new long[] {candidates[i]}, candidates, out);
            }
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                channel.truncate(4096);
            }
            for (Mode mode : Mode.values()) {
                InternalError e = assertThrows(InternalError.class,
                        () -> scorer.score(mode, 1, new long[] {candidates[7]}, candidates, out), mode.name());
                assertEquals("a fault occurred in an unsafe memory access operation", e.getMessage());
            }
        }
    }
}
