package io.tarq.jmh;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.tarq.engine.kernel.AttentionKeys;
import io.tarq.engine.kernel.QueryBlocks;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The C kernels of {@code src/main/c/tarq_native.c} through FFM downcalls, with the signatures of their
 * {@link io.tarq.engine.kernel.KernelSupport} twins, on the same memory: heap arrays go to C as they are, through
 * critical downcalls with heap access ({@code Linker.Option.critical(true)}: no copy, no transition to native
 * thread state; the GC waits for the call, which is microseconds). So a native and a Java benchmark read the same
 * bytes from the same addresses, and the comparison measures the kernels, not a copy.
 *
 * <p>C does not check bounds, so every method checks the sizes it will touch before calling; only the codes'
 * values are trusted ({@code < K} for the float scan, as the model's checks guarantee). Benchmarks only: the engine
 * never loads this. JVMs that call it need {@code --enable-native-access=ALL-UNNAMED} (otherwise a warning).
 */
public final class NativeKernels {
    /** Floats of {@code scores} scratch {@link #attendRows} needs a key: 4 query blocks of 16 lanes scored together. */
    public static final int SCORES_PER_KEY = 64;

    // Bits of tarq_native_features(): what -march=native compiled on the build machine.
    private static final int U8_VBMI = 1;
    private static final int ATTEND = 4;
    private static final int U8_AVX2 = 8;
    private static final int ATTEND_16 = 16;

    // static final: the JIT treats the handles as constants and inlines the downcall stubs.
    private static final MethodHandle FEATURES;
    private static final MethodHandle LUT_SCAN_U8;
    private static final MethodHandle LUT_SCAN_F32;
    private static final MethodHandle ATTEND_ROWS;

    static {
        SymbolLookup library = NativeLibrary.load();
        FEATURES = downcall(library, "tarq_native_features", FunctionDescriptor.of(JAVA_INT));
        LUT_SCAN_U8 = downcall(library, "tarq_lut_scan_u8",
                FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        LUT_SCAN_F32 = downcall(library, "tarq_lut_scan_f32",
                FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        ATTEND_ROWS = downcall(library, "tarq_attend_rows", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    }

    /**
     * A critical downcall that may take heap segments. Restricted (a descriptor that does not match the C prototype
     * can crash the JVM): the descriptors above follow tarq_native.c's prototypes, and every call checks the sizes C
     * will touch.
     */
    @SuppressWarnings("restricted")
    private static MethodHandle downcall(SymbolLookup library, String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = library.find(name).orElseThrow(() -> new IllegalStateException(
                NativeLibrary.path() + " has no symbol " + name + ": rebuild the jmh module"));
        return Linker.nativeLinker().downcallHandle(symbol, descriptor, Linker.Option.critical(true));
    }

    private NativeKernels() {
    }

    /** The library and which paths its build compiled, for logs and test messages. */
    public static String description() {
        int features = features();
        String byteTables = (features & U8_VBMI) != 0 ? "in registers (AVX-512 VBMI)"
                : (features & U8_AVX2) != 0 ? "in 16-entry sub-tables (AVX2 vpshufb)" : "read by scalar loads";
        String attend = switch (attendRowsLanes()) {
            case 16 -> ", attendRows on 16 lanes (AVX-512F)";
            case 8 -> ", attendRows on 8 lanes (AVX2 + FMA)";
            default -> ", no attendRows (needs AVX-512F, or AVX2 and FMA)";
        };
        return "native (" + NativeLibrary.path() + "), uint8 tables " + byteTables + attend;
    }

    /** Whether the uint8 scan was compiled with its tables in registers (the build machine has AVX-512 VBMI). */
    public static boolean byteTablesInRegisters() {
        return (features() & U8_VBMI) != 0;
    }

    /**
     * Whether the uint8 scan was compiled with vpshufb lookups of 16-entry sub-tables (the build machine has AVX2 but
     * not AVX-512 VBMI).
     */
    public static boolean byteTablesInSubTables() {
        return (features() & U8_AVX2) != 0;
    }

    /** Whether {@link #attendRows} was compiled (the build machine has AVX-512F, or AVX2 and FMA). */
    public static boolean hasAttendRows() {
        return (features() & ATTEND) != 0;
    }

    /**
     * The queries {@link #attendRows} computes a vector: 16 (AVX-512F), 8 (AVX2 + FMA), 0 when it was not compiled.
     * Its results are the Panama kernel's bits where that kernel's float vectors have as many lanes.
     */
    public static int attendRowsLanes() {
        int features = features();
        return (features & ATTEND) == 0 ? 0 : (features & ATTEND_16) != 0 ? 16 : 8;
    }

    private static int features() {
        try {
            return (int) FEATURES.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@link io.tarq.engine.kernel.KernelSupport#lutScanU8}, exactly: codes {@code [L][stride]}, sums {@code [stride]}. */
    public static void lutScanU8(byte[] codes, int stride, int count, int levels, byte[] lutU8, short[] sums) {
        lutScanU8(MemorySegment.ofArray(codes), stride, count, levels, MemorySegment.ofArray(lutU8), MemorySegment.ofArray(sums));
    }

    /** The same on segments (a benchmark wraps its arrays once, so no call allocates). */
    public static void lutScanU8(MemorySegment codes, int stride, int count, int levels, MemorySegment lutU8, MemorySegment sums) {
        // The C kernel reads and writes whole blocks of 64 candidates, as the Java kernel does: the padding must exist.
        long blockEnd = (count + 63L) & ~63L;
        if (levels < 1 || levels > 8 || count < 0 || stride % 64 != 0 || blockEnd > stride
                || codes.byteSize() < (levels - 1L) * stride + blockEnd || lutU8.byteSize() < 256L * levels
                || sums.byteSize() < 2 * blockEnd) {
            throw new IllegalArgumentException("lutScanU8: L = " + levels + ", count " + count + ", stride " + stride
                    + ", codes " + codes.byteSize() + " B, lut " + lutU8.byteSize() + " B, sums " + sums.byteSize() + " B");
        }
        try {
            LUT_SCAN_U8.invokeExact(codes, stride, count, levels, lutU8, sums);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@link io.tarq.engine.kernel.KernelSupport#lutScanF32}, bit for bit: {@code out[i] += Σ_l lut[l][codes[l][i]]}. */
    public static void lutScanF32(byte[] codes, int stride, int count, int levels, int codebookSize, float[] lut, float[] out) {
        lutScanF32(MemorySegment.ofArray(codes), stride, count, levels, codebookSize, MemorySegment.ofArray(lut), MemorySegment.ofArray(out));
    }

    /** The same on segments. Every code must be below {@code codebookSize}. */
    public static void lutScanF32(MemorySegment codes, int stride, int count, int levels, int codebookSize, MemorySegment lut,
            MemorySegment out) {
        if (levels < 1 || count < 0 || count > stride || codebookSize < 1 || codebookSize > 256
                || codes.byteSize() < (levels - 1L) * stride + count || lut.byteSize() < 4L * levels * codebookSize
                || out.byteSize() < 4L * count) {
            throw new IllegalArgumentException("lutScanF32: L = " + levels + ", K = " + codebookSize + ", count " + count
                    + ", stride " + stride + ", codes " + codes.byteSize() + " B, lut " + lut.byteSize() + " B, out "
                    + out.byteSize() + " B");
        }
        try {
            LUT_SCAN_F32.invokeExact(codes, stride, count, levels, codebookSize, lut, out);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@link io.tarq.engine.kernel.KernelSupport#attendRows}: the same inputs and outputs, except that {@code scores}
     * must hold {@link #SCORES_PER_KEY}{@code · keys.n} floats (four query blocks are scored at once).
     */
    public static void attendRows(float[] queriesT, int count, AttentionKeys keys, float[] scores, float[] out) {
        int d = keys.d;
        if (count < 0 || queriesT.length < QueryBlocks.length(count, d) || out.length < count
                || scores.length < (long) SCORES_PER_KEY * keys.n || keys.n > keys.stride) {
            throw new IllegalArgumentException("attendRows: count " + count + ", d " + d + ", n " + keys.n + ", queries "
                    + queriesT.length + ", scores " + scores.length + ", out " + out.length);
        }
        MemorySegment nullK = keys.nullK == null ? MemorySegment.NULL : MemorySegment.ofArray(keys.nullK);
        int status;
        try {
            status = (int) ATTEND_ROWS.invokeExact(MemorySegment.ofArray(queriesT), count, keys.heads, keys.headDim, keys.n,
                    MemorySegment.ofArray(keys.keys), MemorySegment.ofArray(keys.u), keys.stride, nullK,
                    MemorySegment.ofArray(keys.unshiftedNormSq), MemorySegment.ofArray(scores), MemorySegment.ofArray(out));
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (status != 0) {
            throw new UnsupportedOperationException("attendRows needs AVX-512F, or AVX2 and FMA, which "
                    + NativeLibrary.path() + " was not compiled for");
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(t);
    }
}
