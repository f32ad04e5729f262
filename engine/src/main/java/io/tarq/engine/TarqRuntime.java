package io.tarq.engine;

import io.tarq.engine.kernel.Kernels;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * What this engine is: its release version and the kernels it runs on this JVM and CPU. For a server's startup log
 * and its {@code /version} or metrics labels.
 */
public final class TarqRuntime {
    private static final String VERSION = readVersion();

    private TarqRuntime() {
    }

    /**
     * The engine's release version, as in its Maven coordinates (for example {@code 0.1.0} or {@code 0.2.0-SNAPSHOT}).
     *
     * @return the version string the engine was built with
     */
    public static String version() {
        return VERSION;
    }

    /**
     * One line naming the kernels requests run on and why: {@code panama} with its vector width and byte-table path,
     * or {@code scalar} with the flag that would enable the vector kernels. The first call chooses the kernels.
     *
     * @return a line for humans, for example
     *         {@code panama, 256-bit float vectors, uint8 tables in registers (256-bit byte shuffles, no AVX-512 VBMI)}
     * @throws IllegalArgumentException if the {@code io.tarq.kernels} system property names no implementation
     * @throws IllegalStateException if that property forces the vector kernels where they cannot run
     */
    public static String kernels() {
        return Kernels.describe();
    }

    private static String readVersion() {
        try (InputStream in = TarqRuntime.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                throw new IllegalStateException("io/tarq/engine/version.properties is missing from the engine's jar");
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
