package io.tarq.engine.kernel;

import java.lang.System.Logger.Level;
import java.lang.reflect.InvocationTargetException;
import java.util.Locale;

/**
 * The kernel implementation this JVM uses, chosen once: the Vector API one ({@code PanamaKernels}) when the
 * {@code jdk.incubator.vector} module is readable, the VM is HotSpot with C2 and vectors are at least 256 bits wide;
 * otherwise the scalar one, with one WARN line that says which flag to add. {@code -Dio.tarq.kernels=scalar|panama}
 * forces a choice (forcing panama where it cannot run is an error).
 *
 * <p>This class never touches {@code jdk.incubator.vector} itself: the Panama class is loaded by name, so that a JVM
 * without the module never resolves it.
 */
public final class Kernels {
    /** The system property that forces an implementation: {@code scalar} or {@code panama}. */
    public static final String PROPERTY = "io.tarq.kernels";
    static final String PANAMA_CLASS = "io.tarq.engine.kernel.panama.PanamaKernels";
    private static final System.Logger LOG = System.getLogger("io.tarq.engine");

    private Kernels() {
    }

    private static final class Holder {
        static final Choice CHOICE = Choice.of(System.getProperty(PROPERTY, ""));
    }

    /**
     * The implementation in use. A bad {@code -Dio.tarq.kernels} value throws {@link IllegalArgumentException}, and
     * {@code panama} forced where it cannot run {@link IllegalStateException}, on every call (never an
     * {@code ExceptionInInitializerError} once and {@code NoClassDefFoundError} after).
     *
     * @return the implementation chosen at the first call, the same on every call
     * @throws IllegalArgumentException {@code -Dio.tarq.kernels} is neither {@code scalar} nor {@code panama}
     * @throws IllegalStateException    {@code -Dio.tarq.kernels=panama} where the Panama kernels cannot run
     */
    public static KernelSupport get() {
        return Holder.CHOICE.kernels();
    }

    /** The outcome of {@link #lookup}, kept: the implementation, or the refusal to throw again on every call. */
    record Choice(KernelSupport implementation, RuntimeException refusal) {
        static Choice of(String forced) {
            try {
                return new Choice(lookup(forced), null);
            } catch (IllegalArgumentException | IllegalStateException e) {
                return new Choice(null, e);
            }
        }

        KernelSupport kernels() {
            if (refusal instanceof IllegalArgumentException) {
                throw new IllegalArgumentException(refusal.getMessage(), refusal);
            }
            if (refusal != null) {
                throw new IllegalStateException(refusal.getMessage(), refusal);
            }
            return implementation;
        }
    }

    /**
     * Returns which implementation runs.
     *
     * @return {@code "panama"} or {@code "scalar"}
     * @throws IllegalArgumentException as {@link #get()}
     * @throws IllegalStateException    as {@link #get()}
     */
    public static String implementationName() {
        return get().name();
    }

    /**
     * Describes the implementation in one line for humans.
     *
     * @return the implementation and why (vector width, byte-table path), or its name alone for the scalar one
     * @throws IllegalArgumentException as {@link #get()}
     * @throws IllegalStateException    as {@link #get()}
     */
    public static String describe() {
        KernelSupport k = get();
        return k instanceof Described described ? described.description() : k.name();
    }

    /** Implementations that can say more than their name. */
    public interface Described {
        /**
         * Describes the implementation in one line.
         *
         * @return its name and what it runs on (vector width, byte-table path)
         */
        String description();
    }

    static KernelSupport lookup(String forced) {
        String choice = forced.trim().toLowerCase(Locale.ROOT);
        switch (choice) {
            case "scalar" -> {
                LOG.log(Level.INFO, "tarq kernels: scalar (forced by -D" + PROPERTY + "=scalar)");
                return ScalarKernels.INSTANCE;
            }
            case "panama" -> {
                String refusal = panamaRefusal();
                if (refusal != null) {
                    throw new IllegalStateException("-D" + PROPERTY + "=panama but " + refusal);
                }
                try {
                    return loadPanama();
                } catch (UnsupportedOperationException e) {
                    throw new IllegalStateException("-D" + PROPERTY + "=panama but " + e.getMessage(), e);
                }
            }
            case "" -> {
                String refusal = panamaRefusal();
                if (refusal != null) {
                    LOG.log(Level.WARNING, "tarq kernels: scalar fallback, " + refusal);
                    return ScalarKernels.INSTANCE;
                }
                try {
                    KernelSupport panama = loadPanama();
                    LOG.log(Level.INFO, "tarq kernels: " + ((Described) panama).description());
                    return panama;
                } catch (UnsupportedOperationException e) {
                    LOG.log(Level.WARNING, "tarq kernels: scalar fallback, " + e.getMessage());
                    return ScalarKernels.INSTANCE;
                }
            }
            default -> throw new IllegalArgumentException("-D" + PROPERTY + "=" + forced + ": expected scalar or panama");
        }
    }

    /** Why the Panama kernels cannot run here, or null when they can. */
    static String panamaRefusal() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return "the Vector API is not enabled: add the JVM flag --add-modules jdk.incubator.vector";
        }
        if (!CpuFeatures.isHotSpot()) {
            return "the VM (" + System.getProperty("java.vm.name") + ") is not HotSpot";
        }
        if (!CpuFeatures.c2Enabled()) {
            return "the C2 compiler is off (-Xint or -XX:TieredStopAtLevel below 4): Vector API code would run interpreted";
        }
        return null;
    }

    private static KernelSupport loadPanama() {
        try {
            return (KernelSupport) Class.forName(PANAMA_CLASS).getDeclaredConstructor().newInstance();
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof UnsupportedOperationException refusal) {
                throw refusal;
            }
            throw new IllegalStateException("cannot start the Panama kernels", e.getCause());
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new UnsupportedOperationException("the Panama kernels cannot load (" + e + ")", e);
        }
    }
}
