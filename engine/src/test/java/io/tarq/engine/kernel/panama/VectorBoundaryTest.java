package io.tarq.engine.kernel.panama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import jdk.incubator.vector.Vector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import org.junit.jupiter.api.Test;

/**
 * The kernels' methods pass arrays and numbers to each other, not vectors: a vector passed to or returned from a
 * method C2 does not inline is boxed on the heap, and C2 declines to inline ordinary methods on profile counts that
 * the kernels cannot control (docs/benchmarks.md, "Allocation", measured it at 5 KB a request). The few methods that
 * take vectors are listed here with their reason; a new one fails this test until it is justified the same way.
 */
class VectorBoundaryTest {
    /** Called in per-candidate loops, where the call site is hot in every profile, or only while initialising. */
    private static final Set<String> ALLOWED = Set.of(
            "DeterministicMath.sum(FloatVector)", // a candidate's reduction in the scans
            "DeterministicMath.sums(FloatVector,FloatVector,FloatVector,FloatVector,FloatVector,FloatVector,FloatVector,FloatVector)",
            "DeterministicMath.merge(FloatVector,FloatVector,VectorMask,VectorShuffle)", // sums' tree level
            "DeterministicMath.sumsOfTwo(FloatVector,FloatVector)", // two candidates' reductions in the 8-bit scan
            "PanamaKernels.storeGroup(FloatVector,float,float,float[],int)", // eight candidates' logits
            "DeterministicMath.spanMask(int)", // the constants sums uses, built once
            "DeterministicMath.spanSwap(int)");

    @Test
    void noKernelMethodTakesOrReturnsAVectorUnlessListed() throws IOException, ClassNotFoundException {
        List<String> found = new ArrayList<>();
        for (Class<?> type : panamaClasses()) {
            for (Method method : type.getDeclaredMethods()) {
                if (method.isSynthetic()) {
                    continue; // lambdas' bodies: the Vector API calls them, never the kernels
                }
                boolean vectors = isVectorType(method.getReturnType());
                for (Class<?> parameter : method.getParameterTypes()) {
                    vectors |= isVectorType(parameter);
                }
                if (vectors) {
                    found.add(signature(method));
                }
            }
        }
        List<String> unlisted = found.stream().filter(m -> !ALLOWED.contains(m)).sorted().toList();
        assertEquals(List.of(), unlisted, "kernel methods that take or return vectors");
        assertTrue(found.contains("DeterministicMath.sum(FloatVector)"),
                "the scan must find the listed methods, or it is not scanning anything: " + found);
    }

    private static boolean isVectorType(Class<?> type) {
        return Vector.class.isAssignableFrom(type) || VectorMask.class.isAssignableFrom(type)
                || VectorShuffle.class.isAssignableFrom(type);
    }

    private static String signature(Method method) {
        StringBuilder s = new StringBuilder(method.getDeclaringClass().getSimpleName()).append('.')
                .append(method.getName()).append('(');
        Class<?>[] parameters = method.getParameterTypes();
        for (int i = 0; i < parameters.length; i++) {
            s.append(i == 0 ? "" : ",").append(parameters[i].getSimpleName());
        }
        return s.append(')').toString();
    }

    /** Every top-level class of the package, from its sources (the kernels' classes are package-private). */
    private static List<Class<?>> panamaClasses() throws IOException, ClassNotFoundException {
        Path sources = Path.of(System.getProperty("tarq.root", ".."))
                .resolve("engine/src/main/java/io/tarq/engine/kernel/panama").toAbsolutePath();
        assertTrue(Files.isDirectory(sources), "no sources at " + sources);
        List<Class<?>> classes = new ArrayList<>();
        try (Stream<Path> files = Files.list(sources)) {
            for (Path file : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                String name = file.getFileName().toString().replace(".java", "");
                if (!name.equals("package-info")) {
                    classes.add(Class.forName("io.tarq.engine.kernel.panama." + name));
                }
            }
        }
        return classes;
    }
}
