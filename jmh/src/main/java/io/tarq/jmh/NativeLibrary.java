package io.tarq.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;

/**
 * Finds and loads {@code libtarqnative.so}, the C kernels the jmh module's build compiles from
 * {@code src/main/c/tarq_native.c} into {@code target/native/}. The path is {@code -Dtarq.native.lib=PATH} when
 * given, else {@code native/libtarqnative.so} beside where this class was loaded from: {@code target/classes} in
 * the tests and {@code target/benchmarks.jar} in JMH forks both sit in {@code target/}.
 */
final class NativeLibrary {
    static final String PROPERTY = "tarq.native.lib";
    static final String FILE_NAME = "libtarqnative.so";

    private NativeLibrary() {
    }

    /** The library's symbols, loaded once for the JVM's lifetime (the global arena never unloads it). */
    @SuppressWarnings("restricted") // loading a library runs its initializers: ours has none
    static SymbolLookup load() {
        Path path = path();
        if (!Files.isRegularFile(path)) {
            throw new IllegalStateException(path + " not found: build the jmh module (./tarq jmh, or mvn package; it"
                    + " compiles src/main/c with gcc) or point -D" + PROPERTY + " at the library");
        }
        return SymbolLookup.libraryLookup(path, Arena.global());
    }

    static Path path() {
        String configured = System.getProperty(PROPERTY);
        if (configured != null) {
            return Path.of(configured);
        }
        CodeSource source = NativeLibrary.class.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
            throw new IllegalStateException("cannot tell where the jmh classes were loaded from; set -D" + PROPERTY);
        }
        try {
            Path loadedFrom = Path.of(source.getLocation().toURI()).toAbsolutePath();
            return loadedFrom.getParent().resolve("native").resolve(FILE_NAME);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot tell where the jmh classes were loaded from; set -D" + PROPERTY, e);
        }
    }
}
