package io.tarq.engine.kernel.panama;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.MethodModel;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The self-attention's steps that hold vector code compile alone, not inlined into the loop over heads: C2 inlines a
 * hot callee of up to {@code FreqInlineSize} bytecodes (325 on x86-64 and AArch64) and compiles a longer one on its
 * own. Inlined into {@code attendValuesByQueries}, the max (281 bytecodes then) ran in some JVMs as the Vector API's
 * Java fallbacks, 222 KB a request (docs/benchmarks.md, "Allocation"). A step shortened below the limit fails here.
 */
class StandaloneStepsTest {
    private static final int FREQ_INLINE_SIZE = 325;

    @Test
    void selfAttentionStepsAreLongerThanC2InlinesHotCallees() throws IOException {
        Map<String, Integer> lengths = bytecodeLengths();
        for (String step : List.of("groupScores", "groupMax", "groupValues")) {
            Integer length = lengths.get(step);
            assertTrue(length != null && length > FREQ_INLINE_SIZE,
                    "PanamaKernels." + step + " is " + length + " bytecodes; it must stay above " + FREQ_INLINE_SIZE
                            + " so that C2 compiles it alone");
        }
    }

    private static Map<String, Integer> bytecodeLengths() throws IOException {
        byte[] bytes;
        try (InputStream in = PanamaKernels.class.getResourceAsStream("PanamaKernels.class")) {
            bytes = in.readAllBytes();
        }
        ClassModel model = ClassFile.of().parse(bytes);
        Map<String, Integer> lengths = new HashMap<>();
        for (MethodModel method : model.methods()) {
            method.findAttribute(Attributes.code()).ifPresent(code ->
                    lengths.merge(method.methodName().stringValue(), code.codeLength(), Math::max));
        }
        return lengths;
    }
}
