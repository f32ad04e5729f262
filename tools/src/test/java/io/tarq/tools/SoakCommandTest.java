package io.tarq.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The short soak of `./tarq test`: 5 s of requests on two threads while two versions and broken files are swapped in. */
class SoakCommandTest {
    @TempDir
    Path dir;

    static long field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\": ([0-9.]+)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return (long) Double.parseDouble(m.group(1));
    }

    @Test
    void everyResponseIsOneVersionsExactAnswerAndNothingStaysMapped() throws IOException {
        Path a = dir.resolve("a.safetensors");
        Path b = dir.resolve("b.safetensors");
        SyntheticModelSpec spec = SyntheticModelSpec.defaults(1500).withUsers(40).withNMax(32).withNullKeys(true);
        SyntheticModel.write(spec.withSeed(11), a);
        SyntheticModel.write(spec.withSeed(12), b);
        TarqCliTest.Run r = TarqCliTest.run("soak", a.toString(), b.toString(), "--seconds", "5", "--threads", "2",
                "--swap-every-ms", "25", "--candidates", "100", "--history", "20", "--json");
        assertEquals(0, r.exit(), r.out() + r.err());
        String json = r.out().strip();
        assertEquals(0, field(json, "errors"), json);
        assertEquals(0, field(json, "mismatches"), json);
        assertTrue(field(json, "requests") > 100, json);
        assertTrue(field(json, "swaps") >= 20, json);
        assertTrue(field(json, "rejected_swaps") >= 3, json + ": every broken kind at least once");
        assertEquals(field(json, "mapped_bytes_before"), field(json, "mapped_bytes_after"), json);
        assertTrue(field(json, "mapped_bytes_peak") > 0, json);
        assertEquals(0, field(json, "live_models_after"), json);
        field(json, "p99_us");
    }

    @Test
    void modelsWithoutACommonItemAreOneLine() throws IOException {
        Path a = dir.resolve("a.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(50).withUsers(5), a);
        Path notAModel = java.nio.file.Files.writeString(dir.resolve("b.safetensors"), "nope");
        TarqCliTest.Run r = TarqCliTest.run("soak", a.toString(), notAModel.toString(), "--seconds", "1");
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("tarq soak: " + notAModel + ": "), r.err());
    }
}
