package io.tarq.layout;

import io.tarq.layout.safetensors.SafetensorsFile;
import io.tarq.layout.safetensors.TensorView;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The tensors of a TARQ model file (the contract's table), and the check that a file holds each required one and
 * each present optional one with the right dtype and shape.
 */
public final class TarqTensors {
    /** {@code [N]} I64, required: the external item id of each row, unique. */
    public static final String ITEM_IDS = "item.ids";
    /** {@code [N, d]} F32, required: the item embeddings e_i. */
    public static final String ITEM_EMB = "item.emb";
    /** {@code [N, dv]} F32, required: the two-tower item vectors î, unit length. */
    public static final String ITEM_VEC = "item.vec";
    /** {@code [L, N]} U8, required: each item's codes, level-major ({@code codes[L][N]}), each below K. */
    public static final String ITEM_CODES = "item.codes";
    /** {@code [U]} I64, required: the external user id of each row; row 0 is the unknown user. */
    public static final String USER_IDS = "user.ids";
    /** {@code [U, d]} F32, required: the user embeddings. */
    public static final String USER_EMB = "user.emb";
    /** {@code [n_max, d]} F32, required: the position embeddings P, P[0] for the newest behaviour. */
    public static final String SEQ_POS = "seq.pos";
    /** Prefix of the sequence self-attention MHA_seq ({@link #attn}: {@code [d, d]} weights, {@code [d]} biases). */
    public static final String SEQ_ATTN = "seq.attn";
    /** {@code [d]} F32, required: the sequence block's LayerNorm weight. */
    public static final String SEQ_LN_WEIGHT = "seq.ln.weight";
    /** {@code [d]} F32, required: the sequence block's LayerNorm bias. */
    public static final String SEQ_LN_BIAS = "seq.ln.bias";
    /** Prefix of the user attention MHA_user over the sequence ({@link #attn}, shapes as {@link #SEQ_ATTN}). */
    public static final String USER_ATTN = "user.attn";
    /** {@code [f, 2d]} F32, required: the user MLP's first weight. */
    public static final String USER_MLP_0_WEIGHT = "user.mlp.0.weight";
    /** {@code [f]} F32, required: the user MLP's first bias. */
    public static final String USER_MLP_0_BIAS = "user.mlp.0.bias";
    /** {@code [dv, f]} F32, required: the user MLP's second weight. */
    public static final String USER_MLP_2_WEIGHT = "user.mlp.2.weight";
    /** {@code [dv]} F32, required: the user MLP's second bias. */
    public static final String USER_MLP_2_BIAS = "user.mlp.2.bias";
    /** Prefix of the teacher's target attention MHA_ta ({@link #attn}, shapes as {@link #SEQ_ATTN}). */
    public static final String TA_ATTN = "ta.attn";
    /** {@code [d, dv]} F32, required: the readout weight W_r. */
    public static final String TA_READOUT_WEIGHT = "ta.readout.weight";
    /** {@code [d]} F32, required: the readout bias b_r. */
    public static final String TA_READOUT_BIAS = "ta.readout.bias";
    /** {@code [1]} F32, required: the two-tower scale τ. */
    public static final String HEAD_TAU = "head.tau";
    /** {@code [1]} F32, required: the two-tower shift β. */
    public static final String HEAD_BETA = "head.beta";
    /** {@code [L, K, d]} F32, required: the residual-quantization codebooks C_l. */
    public static final String RQ_CODEBOOKS = "rq.codebooks";
    /**
     * Prefix of the student's attention ({@link #attn}): {@code wq [L, d, d]} and {@code bq [L, d]} per level, the
     * others as {@link #SEQ_ATTN}.
     */
    public static final String RQ_ATTN = "rq.attn";

    /** {@code [h, dh]} F32, optional: the teacher attention's null key. */
    public static final String TA_NULL_K = "ta.attn.null_k";
    /** {@code [h, dh]} F32, optional: the student attention's null key. */
    public static final String RQ_NULL_K = "rq.attn.null_k";
    /** {@code [f_ta, 3d]} F32, optional (DIN-style teacher head, format version 1 only): first weight. */
    public static final String TA_MLP_0_WEIGHT = "ta.mlp.0.weight";
    /** {@code [f_ta]} F32, optional (DIN-style teacher head): first bias. */
    public static final String TA_MLP_0_BIAS = "ta.mlp.0.bias";
    /** {@code [1, f_ta]} F32, optional (DIN-style teacher head): second weight. */
    public static final String TA_MLP_2_WEIGHT = "ta.mlp.2.weight";
    /** {@code [1]} F32, optional (DIN-style teacher head): second bias. */
    public static final String TA_MLP_2_BIAS = "ta.mlp.2.bias";
    /** {@code [f_i, d]} F32, optional (item tower): first weight. */
    public static final String ITEM_MLP_0_WEIGHT = "item.mlp.0.weight";
    /** {@code [f_i]} F32, optional (item tower): first bias. */
    public static final String ITEM_MLP_0_BIAS = "item.mlp.0.bias";
    /** {@code [dv, f_i]} F32, optional (item tower): second weight. */
    public static final String ITEM_MLP_2_WEIGHT = "item.mlp.2.weight";
    /** {@code [dv]} F32, optional (item tower): second bias. */
    public static final String ITEM_MLP_2_BIAS = "item.mlp.2.bias";
    /** {@code [A]} I64, optional (item attributes): the external attribute ids. */
    public static final String ITEM_ATTR_IDS = "item.attr.ids";
    /** {@code [A, d]} F32, optional (item attributes): the attribute embeddings. */
    public static final String ITEM_ATTR_EMB = "item.attr.emb";
    /**
     * {@code [N+1]} I64, optional (item attributes): item i's attributes are {@code values[offsets[i]..offsets[i+1])}.
     */
    public static final String ITEM_ATTR_OFFSETS = "item.attr.offsets";
    /** {@code [nnz]} I64, optional (item attributes): the attribute rows of all items, item after item. */
    public static final String ITEM_ATTR_VALUES = "item.attr.values";
    /** {@code [dx, d]} F32, cross head (format version 2): A. */
    public static final String TA_CROSS_A = "ta.cross.a";
    /** {@code [dx, d]} F32, cross head (format version 2): W_x. */
    public static final String TA_CROSS_ITEM_WEIGHT = "ta.cross.item.weight";
    /** {@code [dx]} F32, cross head (format version 2): b_x. */
    public static final String TA_CROSS_ITEM_BIAS = "ta.cross.item.bias";
    /** {@code [N, dx]} F32, cross head (format version 2): q_i = W_x·e_i + b_x a row, finite. */
    public static final String ITEM_CROSS = "item.cross";

    /**
     * Names a parameter of one attention block: {@code <prefix>.wq} ... {@code <prefix>.bo}.
     *
     * @param prefix    the block, e.g. {@link #SEQ_ATTN}
     * @param parameter {@code wq}, {@code wk}, {@code wv}, {@code wo}, {@code bq}, {@code bk}, {@code bv} or
     *                  {@code bo}
     * @return the tensor name, {@code prefix + "." + parameter}
     */
    public static String attn(String prefix, String parameter) {
        return prefix + "." + parameter;
    }

    static final List<TensorSpec> REQUIRED = required();

    /** Optional groups: all of a group's tensors or none. Symbols such as f_ta are read off the first tensor. */
    record Group(String description, List<TensorSpec> tensors) {
    }

    static final List<Group> OPTIONAL = List.of(
            new Group("the teacher's null key", List.of(TensorSpec.f32(TA_NULL_K, "[h, dh]"))),
            new Group("the student's null key", List.of(TensorSpec.f32(RQ_NULL_K, "[h, dh]"))),
            new Group("the DIN-style teacher head", List.of(
                    TensorSpec.f32(TA_MLP_0_WEIGHT, "[f_ta, 3d]"), TensorSpec.f32(TA_MLP_0_BIAS, "[f_ta]"),
                    TensorSpec.f32(TA_MLP_2_WEIGHT, "[1, f_ta]"), TensorSpec.f32(TA_MLP_2_BIAS, "[1]"))),
            new Group("the item tower", List.of(
                    TensorSpec.f32(ITEM_MLP_0_WEIGHT, "[f_i, d]"), TensorSpec.f32(ITEM_MLP_0_BIAS, "[f_i]"),
                    TensorSpec.f32(ITEM_MLP_2_WEIGHT, "[dv, f_i]"), TensorSpec.f32(ITEM_MLP_2_BIAS, "[dv]"))),
            new Group("the item attributes", List.of(
                    TensorSpec.i64(ITEM_ATTR_IDS, "[A]"), TensorSpec.f32(ITEM_ATTR_EMB, "[A, d]"),
                    TensorSpec.i64(ITEM_ATTR_OFFSETS, "[N+1]"), TensorSpec.i64(ITEM_ATTR_VALUES, "[nnz]"))));

    /**
     * The cross head (format version 2): present exactly when the metadata has {@code cross_dim}, so it is checked
     * apart from the optional groups.
     */
    static final List<TensorSpec> CROSS_HEAD = List.of(
            TensorSpec.f32(TA_CROSS_A, "[dx, d]"), TensorSpec.f32(TA_CROSS_ITEM_WEIGHT, "[dx, d]"),
            TensorSpec.f32(TA_CROSS_ITEM_BIAS, "[dx]"), TensorSpec.f32(ITEM_CROSS, "[N, dx]"));

    /**
     * The optional parts a checked file has. {@code taMlpHidden} and {@code itemMlpHidden} are 0 when absent.
     *
     * @param taNullKey     whether the file has {@link #TA_NULL_K}
     * @param rqNullKey     whether the file has {@link #RQ_NULL_K}
     * @param taMlpHidden   f_ta, the DIN-style teacher head's hidden width, or 0 without that head
     * @param itemMlpHidden f_i, the item tower's hidden width, or 0 without the item tower
     * @param attributes    A, the number of item attributes, or 0 without them
     */
    public record Features(boolean taNullKey, boolean rqNullKey, int taMlpHidden, int itemMlpHidden, int attributes) {
        /**
         * Returns whether the file has the DIN-style teacher head ({@code ta.mlp.*}).
         *
         * @return true when {@code taMlpHidden > 0}
         */
        public boolean dinTeacherHead() {
            return taMlpHidden > 0;
        }

        /**
         * Returns whether the file has the item tower ({@code item.mlp.*}).
         *
         * @return true when {@code itemMlpHidden > 0}
         */
        public boolean itemTower() {
            return itemMlpHidden > 0;
        }
    }

    private TarqTensors() {
    }

    private static List<TensorSpec> required() {
        List<TensorSpec> specs = new ArrayList<>(List.of(
                TensorSpec.i64(ITEM_IDS, "[N]"),
                TensorSpec.f32(ITEM_EMB, "[N, d]"),
                TensorSpec.f32(ITEM_VEC, "[N, dv]"),
                new TensorSpec(ITEM_CODES, io.tarq.layout.safetensors.DType.U8, "[L, N]"),
                TensorSpec.i64(USER_IDS, "[U]"),
                TensorSpec.f32(USER_EMB, "[U, d]"),
                TensorSpec.f32(SEQ_POS, "[n_max, d]")));
        attention(specs, SEQ_ATTN, "[d, d]", "[d]");
        specs.add(TensorSpec.f32(SEQ_LN_WEIGHT, "[d]"));
        specs.add(TensorSpec.f32(SEQ_LN_BIAS, "[d]"));
        attention(specs, USER_ATTN, "[d, d]", "[d]");
        specs.addAll(List.of(
                TensorSpec.f32(USER_MLP_0_WEIGHT, "[f, 2d]"),
                TensorSpec.f32(USER_MLP_0_BIAS, "[f]"),
                TensorSpec.f32(USER_MLP_2_WEIGHT, "[dv, f]"),
                TensorSpec.f32(USER_MLP_2_BIAS, "[dv]")));
        attention(specs, TA_ATTN, "[d, d]", "[d]");
        specs.addAll(List.of(
                TensorSpec.f32(TA_READOUT_WEIGHT, "[d, dv]"),
                TensorSpec.f32(TA_READOUT_BIAS, "[d]"),
                TensorSpec.f32(HEAD_TAU, "[1]"),
                TensorSpec.f32(HEAD_BETA, "[1]"),
                TensorSpec.f32(RQ_CODEBOOKS, "[L, K, d]")));
        attention(specs, RQ_ATTN, "[d, d]", "[d]");
        // The student's query projection is per level.
        specs.replaceAll(s -> switch (s.name()) {
            case "rq.attn.wq" -> TensorSpec.f32(s.name(), "[L, d, d]");
            case "rq.attn.bq" -> TensorSpec.f32(s.name(), "[L, d]");
            default -> s;
        });
        return List.copyOf(specs);
    }

    private static void attention(List<TensorSpec> specs, String prefix, String weight, String bias) {
        for (String w : List.of("wq", "wk", "wv", "wo")) {
            specs.add(TensorSpec.f32(attn(prefix, w), weight));
        }
        for (String b : List.of("bq", "bk", "bv", "bo")) {
            specs.add(TensorSpec.f32(attn(prefix, b), bias));
        }
    }

    /**
     * Lists every tensor name this version of the format knows: required, optional and cross-head ones.
     *
     * @return a new mutable list, required tensors first
     */
    public static List<String> knownNames() {
        List<String> names = new ArrayList<>();
        REQUIRED.forEach(s -> names.add(s.name()));
        OPTIONAL.forEach(g -> g.tensors().forEach(s -> names.add(s.name())));
        CROSS_HEAD.forEach(s -> names.add(s.name()));
        return names;
    }

    /** Checks presence, dtype and shape of every required tensor and every present optional group. */
    static Features check(SafetensorsFile file, TarqDimensions dims) throws ModelFormatException {
        Map<String, Long> symbols = new HashMap<>();
        symbols.put("N", (long) dims.items());
        symbols.put("N+1", dims.items() + 1L);
        symbols.put("U", (long) dims.users());
        symbols.put("d", (long) dims.d());
        symbols.put("2d", 2L * dims.d());
        symbols.put("3d", 3L * dims.d());
        symbols.put("dv", (long) dims.dv());
        symbols.put("f", (long) dims.mlpHidden());
        symbols.put("n_max", (long) dims.nMax());
        symbols.put("L", (long) dims.levels());
        symbols.put("K", (long) dims.codebookSize());
        symbols.put("h", (long) dims.heads());
        symbols.put("dh", (long) dims.headDim());
        symbols.put("dx", (long) dims.crossDim());
        symbols.put("1", 1L);

        for (TensorSpec spec : REQUIRED) {
            checkOne(file, spec, file.tensor(spec.name()), symbols);
        }
        boolean[] present = new boolean[OPTIONAL.size()];
        for (int g = 0; g < OPTIONAL.size(); g++) {
            present[g] = checkGroup(file, OPTIONAL.get(g), symbols);
        }
        Features features = new Features(present[0], present[1], symbol(symbols, "f_ta"), symbol(symbols, "f_i"),
                symbol(symbols, "A"));
        checkCrossHead(file, dims, symbols, features.dinTeacherHead());
        return features;
    }

    /**
     * The version rules: a version-2 file has every cross-head tensor and no DIN-style head (one teacher head a file);
     * a version-1 file has none of them, since a reader that trusted its version would serve it without the cross term.
     */
    private static void checkCrossHead(SafetensorsFile file, TarqDimensions dims, Map<String, Long> symbols,
                                       boolean dinHead) throws ModelFormatException {
        Path path = file.path();
        if (!dims.crossHead()) {
            for (TensorSpec spec : CROSS_HEAD) {
                if (file.find(spec.name()).isPresent()) {
                    throw ModelFormatException.ofTensor(path, spec.name(), "is part of the cross head, which format_version "
                            + TarqDimensions.FORMAT_VERSION_1 + " does not have: a file with it is format_version "
                            + TarqDimensions.FORMAT_VERSION_2 + " with metadata cross_dim");
                }
            }
            return;
        }
        for (TensorSpec spec : CROSS_HEAD) {
            TensorView view = file.find(spec.name()).orElseThrow(() -> ModelFormatException.ofTensor(path, spec.name(),
                    "missing: format_version " + TarqDimensions.FORMAT_VERSION_2 + " has the cross head"));
            checkOne(file, spec, view, symbols);
        }
        if (dinHead) {
            throw ModelFormatException.ofTensor(path, TA_MLP_0_WEIGHT, "a file with the cross head (format_version "
                    + TarqDimensions.FORMAT_VERSION_2 + ") has no DIN-style teacher head");
        }
    }

    private static int symbol(Map<String, Long> symbols, String name) {
        return symbols.getOrDefault(name, 0L).intValue();
    }

    private static boolean checkGroup(SafetensorsFile file, Group group, Map<String, Long> symbols)
            throws ModelFormatException {
        List<TensorSpec> specs = group.tensors();
        Optional<TensorSpec> anyPresent = specs.stream().filter(s -> file.find(s.name()).isPresent()).findFirst();
        if (anyPresent.isEmpty()) {
            return false;
        }
        for (TensorSpec spec : specs) {
            if (file.find(spec.name()).isEmpty()) {
                throw ModelFormatException.ofTensor(file.path(), spec.name(), "missing: " + group.description()
                        + " needs it because the file has " + anyPresent.get().name());
            }
        }
        // Symbols only an optional group uses (f_ta, f_i, A, nnz) are read off the tensor where they first appear.
        for (TensorSpec spec : specs) {
            TensorView view = file.find(spec.name()).orElseThrow();
            String[] names = spec.symbols();
            if (view.rank() == names.length) {
                for (int axis = 0; axis < names.length; axis++) {
                    if (!symbols.containsKey(names[axis]) && view.dim(axis) <= Integer.MAX_VALUE) {
                        symbols.put(names[axis], view.dim(axis));
                    }
                }
            }
            checkOne(file, spec, view, symbols);
        }
        return true;
    }

    private static void checkOne(SafetensorsFile file, TensorSpec spec, TensorView view, Map<String, Long> symbols)
            throws ModelFormatException {
        Path path = file.path();
        if (view.dtype() != spec.dtype()) {
            throw ModelFormatException.ofTensor(path, spec.name(), "dtype " + view.dtype() + " but the contract says " + spec.dtype());
        }
        if (spec.symbols().length != view.rank()) {
            throw ModelFormatException.ofTensor(path, spec.name(), "shape " + view.shapeString() + " has rank " + view.rank()
                    + " but the contract says " + spec.shape());
        }
        long[] expected = spec.evaluate(symbols);
        if (!Arrays.equals(expected, view.shape())) {
            throw ModelFormatException.ofTensor(path, spec.name(), "shape " + view.shapeString() + " but the contract says "
                    + spec.describe(symbols));
        }
    }
}
