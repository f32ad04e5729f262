package io.tarq.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.synth.SyntheticModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The request limits on the command line: flags, defaults, one-line errors naming the file, line and field. */
class RequestLimitsCliTest {
    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void synthesize() {
        model = dir.resolve("m.safetensors");
        assertEquals(0, TarqCliTest.run("synth", "--items", "300", "--users", "5", "--out", model.toString()).exit());
    }

    static String request(int candidates) {
        StringBuilder s = new StringBuilder("{\"user\": 1, \"history\": [" + SyntheticModel.itemId(1) + "], \"candidates\": [");
        for (int i = 0; i < candidates; i++) {
            s.append(i == 0 ? "" : ", ").append(SyntheticModel.itemId(i));
        }
        return s.append("]}\n").toString();
    }

    @Test
    void aRequestOverTheLimitStopsTheRunNamingItsLine() throws IOException {
        Path in = Files.writeString(dir.resolve("big.jsonl"), request(2) + request(3));
        Path out = dir.resolve("big-out.jsonl");
        TarqCliTest.Run r = TarqCliTest.run("score", model.toString(), "--input", in.toString(), "--output", out.toString(),
                "--max-candidates", "2");
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertEquals("tarq score: " + in + ": line 2: \"candidates\" has more than 2 ids, the request limit at column 59",
                r.err().strip());
        assertFalse(Files.exists(out));
        assertEquals(0, TarqCliTest.run("score", model.toString(), "--input", in.toString(), "--output", out.toString(),
                "--max-candidates", "3").exit());
    }

    @Test
    void aLineLongerThanAnyRequestWithinTheLimitsIsRefused() throws IOException {
        Path in = Files.writeString(dir.resolve("spaces.jsonl"), request(1) + " ".repeat(2_000_000) + request(1));
        TarqCliTest.Run r = TarqCliTest.run("score", model.toString(), "--input", in.toString(), "--output",
                dir.resolve("o.jsonl").toString(), "--max-candidates", "10", "--max-history", "10");
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertTrue(r.err().strip().endsWith(in + ": line 2 is longer than 1528 characters, more than a request within the limits needs"),
                r.err());
    }

    @Test
    void invalidUtf8IsOneLineNamingTheLine() throws IOException {
        Path in = Files.write(dir.resolve("latin1.jsonl"), new byte[] {'{', (byte) 0xe9, '}', '\n'});
        TarqCliTest.Run r = TarqCliTest.run("score", model.toString(), "--input", in.toString(), "--output",
                dir.resolve("o2.jsonl").toString());
        assertEquals(TarqCli.EXIT_FAULT, r.exit());
        assertEquals("tarq score: " + in + ": line 1: not valid UTF-8", r.err().strip());
    }

    @Test
    void badLimitFlagsAndABenchOverTheLimitAreUsageErrors() {
        assertEquals(TarqCli.EXIT_USAGE, TarqCliTest.run("score", model.toString(), "--input", "x", "--output", "y",
                "--max-candidates", "0").exit());
        assertEquals(TarqCli.EXIT_USAGE, TarqCliTest.run("score", model.toString(), "--input", "x", "--output", "y",
                "--max-history", "-1").exit());
        TarqCliTest.Run r = TarqCliTest.run("bench", model.toString(), "--candidates", "200000", "--seconds", "1");
        assertEquals(TarqCli.EXIT_USAGE, r.exit());
        assertTrue(r.err().contains("over the request limits (--max-candidates 100000"), r.err());
    }
}
