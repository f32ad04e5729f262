package io.tarq.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * Without {@code --add-modules jdk.incubator.vector} the engine runs its scalar kernels and says, in one WARNING line,
 * which flag to add. Runs in the engine's "no-vector-module" test execution; skipped where the module is present.
 */
class KernelsFallbackTest {

    @Test
    void withoutTheVectorModuleTheScalarKernelsRunAndOneWarningNamesTheFlag() {
        assumeTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty(), "the Vector API module is present");
        List<LogRecord> records = new ArrayList<>();
        Logger logger = Logger.getLogger("io.tarq.engine");
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        logger.addHandler(capture);
        try {
            assertEquals("scalar", Kernels.implementationName());
            assertEquals(ScalarKernels.INSTANCE, Kernels.get());
        } finally {
            logger.removeHandler(capture);
        }
        List<LogRecord> warnings = records.stream().filter(r -> r.getLevel() == Level.WARNING).toList();
        assertEquals(1, warnings.size(), "one warning: " + records);
        String message = warnings.getFirst().getMessage();
        assertEquals(1, message.lines().count(), message);
        assertTrue(message.contains("--add-modules jdk.incubator.vector"), message);
    }

    @Test
    void forcingPanamaWithoutTheModuleIsAClearError() {
        assumeTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty(), "the Vector API module is present");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Kernels.lookup("panama"));
        assertTrue(e.getMessage().contains("--add-modules jdk.incubator.vector"), e.getMessage());
    }

    @Test
    void aBadChoiceIsRefusedWithATypedExceptionOnEveryCall() {
        Kernels.Choice bad = Kernels.Choice.of("gpu");
        for (int call = 0; call < 2; call++) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad::kernels);
            assertTrue(e.getMessage().contains("-D" + Kernels.PROPERTY + "=gpu: expected scalar or panama"), e.getMessage());
        }
        assertEquals("scalar", Kernels.Choice.of("scalar").kernels().name());
    }

    @Test
    void anUnknownChoiceIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Kernels.lookup("gpu"));
        assertTrue(e.getMessage().contains("expected scalar or panama"), e.getMessage());
        assertEquals("scalar", Kernels.lookup("scalar").name());
    }
}
