package io.tarq.engine.kernel;

/** The Panama kernels for tests, whatever {@code -Dio.tarq.kernels} says for the rest of the suite. */
public final class KernelsTestSupport {
    private KernelsTestSupport() {
    }

    public static KernelSupport panama() {
        String refusal = Kernels.panamaRefusal();
        if (refusal != null) {
            throw new IllegalStateException("the tests need the Panama kernels: " + refusal);
        }
        return Kernels.lookup("panama");
    }
}
