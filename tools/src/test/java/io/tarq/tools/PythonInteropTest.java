package io.tarq.tools;

import io.tarq.tools.TarqCliTest.Run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarq.engine.synth.SyntheticModel;
import io.tarq.engine.synth.SyntheticModelSpec;
import io.tarq.layout.Layouts;
import io.tarq.layout.TarqModelFile;
import io.tarq.layout.safetensors.DType;
import io.tarq.layout.safetensors.TensorView;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file written by Python opens in Java and one written by Java opens in Python, with the same values on both
 * sides. Runs {@code tools/python} with Debian's python3 and numpy ({@code ./tarq test} installs them).
 */
class PythonInteropTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void findPython() throws Exception {
        ProjectPython.assumeAvailable();
    }

    static Run python(String... args) throws IOException, InterruptedException {
        return ProjectPython.run(args);
    }

    @Test
    void aModelWrittenByPythonOpensInJavaWithTheSameValues() throws Exception {
        Path file = dir.resolve("from-python.safetensors");
        Run synth = python("-m", "tarq.model_file", "synth", "--out", file.toString(), "--items", "300",
                "--seed", "3", "--null-keys", "--ta-mlp", "--item-tower", "--attributes", "20");
        assertEquals(0, synth.exit(), synth.err());
        Run summary = python("-m", "tarq.safetensors_np", "summary", file.toString());
        assertEquals(0, summary.exit(), summary.err());

        try (TarqModelFile model = TarqModelFile.open(file)) {
            model.verifyContents();
            assertTrue(model.features().taNullKey() && model.features().dinTeacherHead() && model.features().itemTower());
            assertEquals(20, model.features().attributes());
            assertTrue(model.producer().startsWith("tarq-python"), model.producer());
            for (TensorView t : model.safetensors().tensors()) {
                assertSumMatches(summary.out(), t);
            }
        }
    }

    @Test
    void aModelWrittenByJavaOpensInPythonWithTheSameValues() throws Exception {
        Path file = dir.resolve("from-java.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(500).withUsers(20).withNullKeys(true).withTaMlpHidden(16), file);
        Run verify = python("-m", "tarq.model_file", "verify", "--full", file.toString());
        assertEquals(0, verify.exit(), verify.err());
        assertEquals(1, verify.out().lines().count(), verify.out());
        Run summary = python("-m", "tarq.safetensors_np", "summary", file.toString());
        assertEquals(0, summary.exit(), summary.err());
        try (TarqModelFile model = TarqModelFile.open(file)) {
            for (TensorView t : model.safetensors().tensors()) {
                assertSumMatches(summary.out(), t);
            }
        }
    }

    /** Both writers lay out the same tensors byte for byte: Python rewriting a Java file changes nothing. */
    @Test
    void pythonRewritesAJavaFileByteForByte() throws Exception {
        Path file = dir.resolve("java.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(333).withUsers(7), file);
        Path copy = dir.resolve("python.safetensors");
        Run rewrite = python("-c", "import sys; from tarq import safetensors_np as s; "
                + "t, m = s.read(sys.argv[1]); s.write(sys.argv[2], t, m)", file.toString(), copy.toString());
        assertEquals(0, rewrite.exit(), rewrite.err());
        assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(copy));
    }

    @Test
    void pythonReportsABrokenJavaFileOnOneLine() throws Exception {
        Path file = dir.resolve("m.safetensors");
        SyntheticModel.write(SyntheticModelSpec.defaults(100).withUsers(5), file);
        byte[] bytes = Files.readAllBytes(file);
        Path cut = Files.write(dir.resolve("cut.safetensors"), java.util.Arrays.copyOf(bytes, bytes.length - 1));
        Run verify = python("-m", "tarq.model_file", "verify", cut.toString());
        assertEquals(1, verify.exit());
        assertEquals(1, verify.err().strip().lines().count(), verify.err());
        assertTrue(verify.err().startsWith(cut.toString()), verify.err());
    }

    /** Finds {@code "name": {... "sum": X ...}} in the Python summary and compares X with Java's sum. */
    private static void assertSumMatches(String summaryJson, TensorView t) {
        Matcher m = Pattern.compile(Pattern.quote("\"" + t.name() + "\"") + ":\\s*\\{[^}]*?\"sum\":\\s*([-+0-9.eE]+|\"[A-Za-z-]+\")")
                .matcher(summaryJson);
        assertTrue(m.find(), "summary has no sum for " + t.name());
        double pythonSum = Double.parseDouble(m.group(1).replace("\"", ""));
        double javaSum = sum(t);
        double tolerance = 1e-9 * Math.max(1, absSum(t));
        assertEquals(pythonSum, javaSum, tolerance, t.name());
    }

    private static double sum(TensorView t) {
        MemorySegment s = t.segment();
        double total = 0;
        for (long i = 0; i < t.elementCount(); i++) {
            total += value(t.dtype(), s, i);
        }
        return total;
    }

    private static double absSum(TensorView t) {
        double total = 0;
        for (long i = 0; i < t.elementCount(); i++) {
            total += Math.abs(value(t.dtype(), t.segment(), i));
        }
        return total;
    }

    private static double value(DType dtype, MemorySegment s, long i) {
        return switch (dtype) {
            case F32 -> s.getAtIndex(Layouts.F32, i);
            case I64 -> s.getAtIndex(Layouts.I64, i);
            case U8 -> Byte.toUnsignedInt(s.get(Layouts.U8, i));
            default -> throw new AssertionError("a TARQ model has no " + dtype + " tensor");
        };
    }
}
