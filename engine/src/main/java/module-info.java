/**
 * The TARQ request path behind a thin facade: {@link io.tarq.engine.TarqModel}, {@link io.tarq.engine.Scorer} and
 * {@link io.tarq.engine.TarqEngine} in {@code io.tarq.engine}, the only package every module may read.
 *
 * <p>The Vector API is optional ({@code requires static}): with {@code --add-modules jdk.incubator.vector} requests run
 * on the Panama kernels, without it on their scalar twins, after one warning that names the flag. The kernels, the
 * synthetic-model generator and the offline catalog and quantizer code are this project's own tooling: they are
 * exported only to its command line ({@code io.tarq.tools}) and benchmarks ({@code io.tarq.jmh}), which run on the
 * class path today, so that no server compiles against them.
 */
@SuppressWarnings("module") // io.tarq.tools and io.tarq.jmh are the automatic modules of those jars, absent at compile time
module io.tarq.engine {
    requires transitive io.tarq.layout;
    requires static jdk.incubator.vector;
    requires jdk.management; // CpuFeatures reads the JIT's UseAVX to size the vectors the kernels use
    requires jdk.jfr;        // the io.tarq.Request and io.tarq.Swap events (recorded only while a recording runs)

    exports io.tarq.engine;

    exports io.tarq.engine.kernel to io.tarq.jmh;
    exports io.tarq.engine.kernel.panama to io.tarq.jmh;
    exports io.tarq.engine.synth to io.tarq.tools, io.tarq.jmh;
    exports io.tarq.engine.catalog to io.tarq.tools;
    exports io.tarq.engine.quantize to io.tarq.tools;
}
