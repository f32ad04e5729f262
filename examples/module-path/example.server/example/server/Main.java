package example.server;

import io.tarq.engine.Mode;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.engine.TarqRuntime;
import io.tarq.engine.TopK;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.StringJoiner;

/**
 * Opens a model, ranks one request's candidates by TT and by TARQ, and prints what a server would log: the engine's
 * version and kernels, the two top-10 id lists, and whether the engine's internals are reachable from here.
 *
 * <p>Run it on the module path ({@code java -p ENGINE_JARS:OUT --add-modules jdk.incubator.vector -m
 * example.server/example.server.Main MODEL}), on the class path, or in a {@code jlink}'d image.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws Exception {
        try (TarqModel model = TarqModel.open(Path.of(args[0]))) {
            long[] items = model.itemIds();
            long[] history = Arrays.copyOf(items, Math.min(20, items.length));
            long[] candidates = Arrays.copyOfRange(items, Math.min(20, items.length), Math.min(2020, items.length));
            long user = model.userIds()[1 % model.userIds().length];
            Scorer scorer = model.newScorer();
            System.out.println("tarq " + TarqRuntime.version() + ", kernels: " + TarqRuntime.kernels());
            for (Mode mode : new Mode[] {Mode.TT, Mode.TARQ}) {
                TopK top = scorer.topK(mode, user, history, candidates, 10, new TopK());
                StringJoiner ids = new StringJoiner(" ", mode + " top-10: ", "");
                for (int r = 0; r < top.size(); r++) {
                    ids.add(Long.toString(top.id(r)));
                }
                System.out.println(ids);
            }
        }
        Module engine = TarqModel.class.getModule();
        System.out.println("engine module: " + (engine.isNamed() ? engine.getName() : "unnamed (class path)"));
        System.out.println("internals: " + (internalsReachable() ? "reachable" : "encapsulated"));
    }

    /** Whether this program could call into the engine's kernel package (only the class path allows it). */
    private static boolean internalsReachable() {
        try {
            Class.forName("io.tarq.engine.kernel.Kernels").getMethod("describe").invoke(null);
            return true;
        } catch (IllegalAccessException e) {
            return false;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
