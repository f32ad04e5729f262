package io.tarq.tools;

import io.tarq.engine.Mode;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.layout.IdIndex;
import io.tarq.tools.data.LeaveOneOut;
import io.tarq.tools.data.MovieLensReader;
import io.tarq.tools.data.PortableNegatives;
import io.tarq.tools.data.S3RecReader;
import io.tarq.tools.data.SequenceDataset;
import io.tarq.tools.demo.RankingMetrics;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ./tarq eval}: the trainer's test metrics computed by the engine, on the user's own data. It reads the data
 * as the trainer does ({@code io.tarq.tools.data}), builds the same leave-one-out rows with the same sampled
 * negatives, scores them with every mode and reports AUC, GAUC, logloss and TARQ's fidelity to TA. On the data a
 * model was trained on, the numbers are the trainer's {@code metrics.json}: engine tt = {@code joint_tt},
 * ta = {@code ta}, tarq-f32 = {@code tarq} (the trainer's student scores with float tables), fidelity = {@code fidelity}.
 *
 * <p>Unknown users score as the model's unknown user and unknown behaviours are dropped (the engine's semantics);
 * a row whose target or a sampled negative is not in the model is skipped whole (a candidate the model cannot
 * score has no logit to rank), and every count is reported.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"AUC, GAUC, logloss and fidelity of a model on a dataset in the trainer's formats, computed by the engine.",
                "Rows as the trainer's leave-one-out split: per user with >= 3 behaviours the last (test) or the one "
                        + "before (validation) is the positive, the behaviours before it the history, and the "
                        + "trainer's sampled negatives the other candidates. On the model's own training data the "
                        + "numbers match MODEL.metrics.json: tt = joint_tt, ta = ta, tarq-f32 = tarq, fidelity = fidelity."})
final class EvalCommand implements Callable<Integer> {
    private static final Mode[] MODES = {Mode.TT, Mode.TA, Mode.TARQ, Mode.TARQ_F32};
    private static final int TOP = 10;

    @Parameters(index = "0", paramLabel = "MODEL", description = "The model file (.safetensors).")
    Path model;

    @Option(names = "--format", required = true, paramLabel = "FORMAT", description = "s3rec or movielens.")
    String format;

    @Option(names = "--sequences", paramLabel = "FILE", description = "s3rec: the sequences file (user item item ...).")
    Path sequences;

    @Option(names = "--attributes", paramLabel = "FILE",
            description = "s3rec: the item -> attributes JSON; accepted for the trainer's command line, checked to be readable, not used.")
    Path attributes;

    @Option(names = "--dir", paramLabel = "DIR", description = "movielens: the directory with ratings.csv and movies.csv.")
    Path dir;

    @Option(names = "--min-rating", paramLabel = "R",
            description = "movielens: keep only ratings >= R (the trainer keeps every rating: leave it off for its models).")
    Double minRating;

    @Option(names = "--split", paramLabel = "SPLIT", defaultValue = "test", description = "test or validation (default: ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--split-seed", paramLabel = "S", defaultValue = "0",
            description = "Seed of the sampled negatives, the trainer's --split-seed (default: ${DEFAULT-VALUE}).")
    long splitSeed;

    @Option(names = "--negatives", paramLabel = "K", defaultValue = "99", description = "Sampled negatives per row (default: ${DEFAULT-VALUE}).")
    int negatives;

    @Option(names = "--json", description = "Print the results as one JSON object.")
    boolean json;

    @Spec
    CommandSpec spec;

    /** What was evaluated and the metrics, per mode in {@link #MODES} order. */
    record Result(String dataset, int rows, int perRow, int skippedRows, long unknownCandidates, int unknownUsers,
                  long unknownBehaviours, double[] auc, double[] gauc, double[] logloss, double[] spearman,
                  double[] recall) {
    }

    @Override
    public Integer call() throws Exception {
        int splitNumber = switch (split) {
            case "test" -> PortableNegatives.TEST;
            case "validation" -> PortableNegatives.VALIDATION;
            default -> throw new ParameterException(spec.commandLine(), "--split must be test or validation, not '" + split + "'");
        };
        if (negatives < 1) {
            throw new ParameterException(spec.commandLine(), "--negatives must be at least 1");
        }
        switch (format) {
            case "s3rec" -> {
                require(sequences != null, "--format s3rec needs --sequences FILE");
                require(dir == null && minRating == null, "--dir and --min-rating are for --format movielens");
            }
            case "movielens" -> {
                require(dir != null, "--format movielens needs --dir DIR");
                require(sequences == null && attributes == null, "--sequences and --attributes are for --format s3rec");
            }
            default -> throw new ParameterException(spec.commandLine(), "--format must be s3rec or movielens, not '" + format + "'");
        }
        SequenceDataset data = format.equals("s3rec") ? S3RecReader.read(sequences, attributes) : MovieLensReader.read(dir, minRating);
        LeaveOneOut rows = LeaveOneOut.evaluation(data, splitNumber, splitSeed, negatives);
        Result result;
        try (TarqModel tarq = TarqModel.open(model)) {
            result = evaluate(tarq, data.name(), rows);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(json(result));
        } else {
            print(out, result);
        }
        return TarqCli.EXIT_OK;
    }

    private void require(boolean condition, String message) {
        if (!condition) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    /** Scores every row that the model can score with every mode, then the metrics. */
    static Result evaluate(TarqModel tarq, String dataset, LeaveOneOut rows) {
        IdIndex items = tarq.file().itemIndex();
        IdIndex users = tarq.file().userIndex();
        int c = rows.perRow();
        int e = 0, skipped = 0, unknownUsers = 0;
        long unknownCandidates = 0, unknownBehaviours = 0;
        boolean[] scorable = new boolean[rows.size()];
        for (int r = 0; r < rows.size(); r++) {
            int unknown = 0;
            for (long id : rows.candidates()[r]) {
                unknown += items.row(id) == IdIndex.MISSING ? 1 : 0;
            }
            unknownCandidates += unknown;
            unknownUsers += users.row(rows.userIds()[r]) == IdIndex.MISSING ? 1 : 0;
            for (long id : rows.histories()[r]) {
                unknownBehaviours += items.row(id) == IdIndex.MISSING ? 1 : 0;
            }
            if (unknown > 0) {
                skipped++;
                continue;
            }
            scorable[r] = true;
            e++;
        }
        float[][] scores = new float[MODES.length][e * c];
        byte[] labels = new byte[e * c];
        Scorer scorer = tarq.newScorer();
        float[] row = new float[c];
        for (int r = 0, at = 0; r < rows.size(); r++) {
            if (!scorable[r]) {
                continue;
            }
            for (int m = 0; m < MODES.length; m++) {
                scorer.score(MODES[m], rows.userIds()[r], rows.histories()[r], rows.candidates()[r], row);
                System.arraycopy(row, 0, scores[m], at * c, c);
            }
            labels[at * c] = 1; // column 0 is the positive
            at++;
        }
        double[] auc = new double[MODES.length], gauc = new double[MODES.length], logloss = new double[MODES.length];
        double[] spearman = new double[MODES.length], recall = new double[MODES.length];
        int ta = indexOf(Mode.TA);
        float[] student = new float[c], teacher = new float[c];
        for (int m = 0; m < MODES.length; m++) {
            auc[m] = e == 0 ? Double.NaN : RankingMetrics.auc(scores[m], labels);
            gauc[m] = e == 0 ? Double.NaN : RankingMetrics.gauc(scores[m], labels, c);
            logloss[m] = e == 0 ? Double.NaN : RankingMetrics.logloss(scores[m], labels);
            if (MODES[m] == Mode.TARQ || MODES[m] == Mode.TARQ_F32) {
                double s = 0, k = 0;
                for (int r = 0; r < e; r++) {
                    System.arraycopy(scores[m], r * c, student, 0, c);
                    System.arraycopy(scores[ta], r * c, teacher, 0, c);
                    s += RankingMetrics.spearman(student, teacher, c);
                    k += RankingMetrics.topKRecall(student, teacher, c, TOP);
                }
                spearman[m] = e == 0 ? Double.NaN : s / e;
                recall[m] = e == 0 ? Double.NaN : k / e;
            } else {
                spearman[m] = recall[m] = Double.NaN;
            }
        }
        return new Result(dataset, e, c, skipped, unknownCandidates, unknownUsers, unknownBehaviours, auc, gauc,
                logloss, spearman, recall);
    }

    private static int indexOf(Mode mode) {
        for (int m = 0; m < MODES.length; m++) {
            if (MODES[m] == mode) {
                return m;
            }
        }
        throw new AssertionError(mode);
    }

    private void print(PrintWriter o, Result r) {
        o.printf(Locale.ROOT, "%s on %s (%s split, split seed %d, %d negatives a row)%n", model, r.dataset(), split,
                splitSeed, negatives);
        o.printf(Locale.ROOT, "  %s rows scored (one a user), %d candidates each%n", Formats.count(r.rows()), r.perRow());
        if (r.skippedRows() + r.unknownUsers() + r.unknownBehaviours() > 0) {
            o.printf(Locale.ROOT, "  not in the model: %s candidates (their %s rows skipped), %s users (scored as its unknown user), "
                            + "%s history behaviours (dropped)%n", Formats.count(r.unknownCandidates()),
                    Formats.count(r.skippedRows()), Formats.count(r.unknownUsers()), Formats.count(r.unknownBehaviours()));
        }
        o.printf(Locale.ROOT, "  %-9s %8s %8s %8s   %s%n", "mode", "AUC", "GAUC", "logloss", "fidelity to ta: spearman, recall@" + TOP);
        for (int m = 0; m < MODES.length; m++) {
            String fidelity = Double.isNaN(r.spearman()[m]) ? ""
                    : String.format(Locale.ROOT, "%.4f, %.4f", r.spearman()[m], r.recall()[m]);
            o.printf(Locale.ROOT, "  %-9s %8.4f %8.4f %8.4f   %s%n", MODES[m].cliName(), r.auc()[m], r.gauc()[m],
                    r.logloss()[m], fidelity);
        }
        o.println("  the trainer's metrics.json: tt = joint_tt, ta = ta, tarq-f32 = tarq (its student uses float tables)");
    }

    private String json(Result r) {
        StringBuilder b = new StringBuilder("{");
        b.append("\"model\":").append(quote(model.toString()));
        b.append(",\"dataset\":").append(quote(r.dataset()));
        b.append(",\"format\":").append(quote(format));
        b.append(",\"split\":").append(quote(split));
        b.append(",\"split_seed\":").append(splitSeed);
        b.append(",\"negatives\":").append(negatives);
        b.append(",\"rows\":").append(r.rows());
        b.append(",\"skipped_rows\":").append(r.skippedRows());
        b.append(",\"unknown_candidates\":").append(r.unknownCandidates());
        b.append(",\"unknown_users\":").append(r.unknownUsers());
        b.append(",\"unknown_behaviours\":").append(r.unknownBehaviours());
        for (String metric : new String[] {"auc", "gauc", "logloss"}) {
            double[] v = metric.equals("auc") ? r.auc() : metric.equals("gauc") ? r.gauc() : r.logloss();
            b.append(",\"").append(metric).append("\":{");
            for (int m = 0; m < MODES.length; m++) {
                b.append(m > 0 ? "," : "").append(quote(MODES[m].cliName())).append(':').append(number(v[m]));
            }
            b.append('}');
        }
        String recallKey = "recall_at_" + Math.min(TOP, r.perRow());
        int f32 = indexOf(Mode.TARQ_F32), u8 = indexOf(Mode.TARQ);
        b.append(",\"fidelity\":{\"spearman\":").append(number(r.spearman()[f32])).append(",\"").append(recallKey)
                .append("\":").append(number(r.recall()[f32])).append('}');
        b.append(",\"fidelity_uint8\":{\"spearman\":").append(number(r.spearman()[u8])).append(",\"").append(recallKey)
                .append("\":").append(number(r.recall()[u8])).append('}');
        return b.append('}').toString();
    }

    private static String number(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (ch < 0x20) {
                        b.append(String.format("\\u%04x", (int) ch));
                    } else {
                        b.append(ch);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
