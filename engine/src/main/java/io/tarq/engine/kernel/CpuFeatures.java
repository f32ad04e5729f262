package io.tarq.engine.kernel;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What the JIT will emit on this machine, as far as the kernels care. HotSpot exposes no flag for AVX-512 VBMI
 * (the byte permute {@code vpermi2b} that keeps a 256-entry uint8 table in registers), so it is read from
 * {@code /proc/cpuinfo}; {@code -XX:UseAVX=2} (an AVX2-only server, or this machine pretending to be one) turns it off.
 */
public final class CpuFeatures {
    private CpuFeatures() {
    }

    /** True when the CPU has AVX-512 VBMI and the JIT may use AVX-512 ({@code UseAVX} ≥ 3). */
    public static boolean hasAvx512Vbmi() {
        return cpuFlag("avx512vbmi") && vmOption("UseAVX").map(v -> Integer.parseInt(v) >= 3).orElse(true);
    }

    /** C2 compiles hot code: not {@code -Xint}, not a client-only tier limit. Vector API code is slow without it. */
    public static boolean c2Enabled() {
        String info = System.getProperty("java.vm.info", "");
        if (info.contains("interpreted mode")) {
            return false;
        }
        boolean tiered = vmOption("TieredCompilation").map(Boolean::parseBoolean).orElse(true);
        int stopAt = vmOption("TieredStopAtLevel").map(Integer::parseInt).orElse(4);
        return !tiered || stopAt >= 4;
    }

    public static boolean isHotSpot() {
        String vm = System.getProperty("java.vm.name", "");
        return vm.contains("HotSpot") || vm.contains("OpenJDK");
    }

    static boolean cpuFlag(String flag) {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        try {
            if (!Files.isReadable(cpuinfo)) {
                return false;
            }
            for (String line : Files.readAllLines(cpuinfo)) {
                if (line.startsWith("flags")) {
                    for (String f : line.substring(line.indexOf(':') + 1).trim().split("\\s+")) {
                        if (f.equals(flag)) {
                            return true;
                        }
                    }
                    return false;
                }
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
        return false;
    }

    static Optional<String> vmOption(String name) {
        try {
            var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            return bean == null ? Optional.empty() : Optional.of(bean.getVMOption(name).getValue());
        } catch (RuntimeException | LinkageError e) {
            return Optional.empty(); // not HotSpot, no such option, or jdk.management absent
        }
    }
}
