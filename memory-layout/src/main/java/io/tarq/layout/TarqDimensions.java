package io.tarq.layout;

import java.nio.file.Path;
import java.util.Map;

/**
 * The dimensions of a TARQ model, read from the file's {@code __metadata__} and checked against the contract's
 * limits (docs/model.md). Names follow the contract: d, h (heads), dv, f (mlpHidden), n_max, L (levels),
 * K (codebookSize), N (items), U (users), dx (crossDim: 0 for a file without the cross head).
 *
 * <p>The format version follows from the dimensions: version 1 has no cross head, version 2 has one. Readers serve
 * both; metadata that claims one version and describes the other is refused, since serving it would silently add or
 * drop the cross term.
 *
 * @param d            d, the embedding and attention width: a multiple of 16 in 16..{@value #MAX_WIDTH}
 * @param heads        h, attention heads: at least 1, dividing d
 * @param dv           dv, the towers' output width: a multiple of 16 in 16..{@value #MAX_WIDTH}
 * @param mlpHidden    f, the user MLP's hidden width: 1..{@value #MAX_MLP_HIDDEN}
 * @param nMax         n_max, the longest history used: 1..{@value #MAX_N_MAX}
 * @param levels       L, residual-quantization levels: 1..{@value #MAX_LEVELS}
 * @param codebookSize K, codewords a level: 2..{@value #MAX_CODEBOOK_SIZE}
 * @param items        N, items in the catalog: at least 1
 * @param users        U, users, row 0 being the unknown user: at least 1
 * @param crossDim     dx, the cross head's width: 1..d, or 0 for a model without the cross head
 */
public record TarqDimensions(int d, int heads, int dv, int mlpHidden, int nMax, int levels, int codebookSize,
                             int items, int users, int crossDim) {
    /** The value of metadata {@code format} in every TARQ model file. */
    public static final String FORMAT = "tarq";
    /** The format without the cross head. */
    public static final int FORMAT_VERSION_1 = 1;
    /** The format with the cross head ({@code ta.cross.*}, {@code item.cross}, metadata {@code cross_dim}). */
    public static final int FORMAT_VERSION_2 = 2;
    /** The newest version this reader serves. */
    public static final int FORMAT_VERSION = FORMAT_VERSION_2;

    /** The largest d and dv this reader accepts. */
    public static final int MAX_WIDTH = 4096;
    /** The largest f (user MLP hidden width) this reader accepts. */
    public static final int MAX_MLP_HIDDEN = 65536;
    /** The largest n_max this reader accepts. */
    public static final int MAX_N_MAX = 1024;
    /** The largest L this reader accepts. */
    public static final int MAX_LEVELS = 8;
    /** The largest K: a code is one unsigned byte. */
    public static final int MAX_CODEBOOK_SIZE = 256;

    /**
     * Checks every dimension against the contract's limits.
     *
     * @param d            d, the embedding and attention width: a multiple of 16 in 16..{@value #MAX_WIDTH}
     * @param heads        h, attention heads: at least 1, dividing d
     * @param dv           dv, the towers' output width: a multiple of 16 in 16..{@value #MAX_WIDTH}
     * @param mlpHidden    f, the user MLP's hidden width: 1..{@value #MAX_MLP_HIDDEN}
     * @param nMax         n_max, the longest history used: 1..{@value #MAX_N_MAX}
     * @param levels       L, residual-quantization levels: 1..{@value #MAX_LEVELS}
     * @param codebookSize K, codewords a level: 2..{@value #MAX_CODEBOOK_SIZE}
     * @param items        N, items in the catalog: at least 1
     * @param users        U, users, row 0 being the unknown user: at least 1
     * @param crossDim     dx, the cross head's width: 1..d, or 0 for a model without the cross head
     * @throws IllegalDimensionException a dimension is out of range (the exception names its metadata key)
     */
    public TarqDimensions {
        require(d >= 16 && d <= MAX_WIDTH && d % 16 == 0, "d", d, "a multiple of 16 in 16.." + MAX_WIDTH);
        require(heads >= 1 && d % heads == 0, "heads", heads, "at least 1 and a divisor of d = " + d);
        require(dv >= 16 && dv <= MAX_WIDTH && dv % 16 == 0, "dv", dv, "a multiple of 16 in 16.." + MAX_WIDTH);
        require(mlpHidden >= 1 && mlpHidden <= MAX_MLP_HIDDEN, "mlp_hidden", mlpHidden, "in 1.." + MAX_MLP_HIDDEN);
        require(nMax >= 1 && nMax <= MAX_N_MAX, "n_max", nMax, "in 1.." + MAX_N_MAX);
        require(levels >= 1 && levels <= MAX_LEVELS, "levels", levels, "in 1.." + MAX_LEVELS);
        require(codebookSize >= 2 && codebookSize <= MAX_CODEBOOK_SIZE, "codebook_size", codebookSize,
                "in 2.." + MAX_CODEBOOK_SIZE);
        require(items >= 1, "items", items, "at least 1");
        require(users >= 1, "users", users, "at least 1 (row 0 is the unknown user)");
        require(crossDim >= 0 && crossDim <= d, "cross_dim", crossDim, "in 1..d = " + d + " (0: no cross head)");
    }

    /**
     * Creates the dimensions of a model without the cross head (format version 1).
     *
     * @param d            d, the embedding and attention width: a multiple of 16 in 16..{@value #MAX_WIDTH}
     * @param heads        h, attention heads: at least 1, dividing d
     * @param dv           dv, the towers' output width: a multiple of 16 in 16..{@value #MAX_WIDTH}
     * @param mlpHidden    f, the user MLP's hidden width: 1..{@value #MAX_MLP_HIDDEN}
     * @param nMax         n_max, the longest history used: 1..{@value #MAX_N_MAX}
     * @param levels       L, residual-quantization levels: 1..{@value #MAX_LEVELS}
     * @param codebookSize K, codewords a level: 2..{@value #MAX_CODEBOOK_SIZE}
     * @param items        N, items in the catalog: at least 1
     * @param users        U, users, row 0 being the unknown user: at least 1
     * @throws IllegalDimensionException a dimension is out of range (the exception names its metadata key)
     */
    public TarqDimensions(int d, int heads, int dv, int mlpHidden, int nMax, int levels, int codebookSize, int items,
                          int users) {
        this(d, heads, dv, mlpHidden, nMax, levels, codebookSize, items, users, 0);
    }

    /**
     * Returns whether the model has the cross head: ℓ gains ⟨A·t, q_i⟩ (TA) and ⟨Σ_l X[l, z_l], q_i⟩ (TARQ).
     *
     * @return true when {@code crossDim > 0}
     */
    public boolean crossHead() {
        return crossDim > 0;
    }

    /**
     * Returns the format version a file of these dimensions declares.
     *
     * @return {@link #FORMAT_VERSION_2} with the cross head, else {@link #FORMAT_VERSION_1}
     */
    public int formatVersion() {
        return crossHead() ? FORMAT_VERSION_2 : FORMAT_VERSION_1;
    }

    /**
     * Returns the same dimensions with the cross head of width {@code dx}.
     *
     * @param dx the cross head's width, 1..d, or 0 for none
     * @return a new instance
     * @throws IllegalDimensionException {@code dx} is out of range
     */
    public TarqDimensions withCrossDim(int dx) {
        return new TarqDimensions(d, heads, dv, mlpHidden, nMax, levels, codebookSize, items, users, dx);
    }

    /**
     * Returns the width of one attention head.
     *
     * @return dh = d / h
     */
    public int headDim() {
        return d / heads;
    }

    /**
     * Reads and checks the dimensions from a file's metadata: {@code format}, {@code format_version},
     * {@code producer} and every dimension key must be present, numbers in plain decimal, and {@code cross_dim}
     * present exactly in version 2.
     *
     * @param file     the model file, named in error messages
     * @param metadata the file's {@code __metadata__}
     * @return the checked dimensions
     * @throws ModelFormatException a key is missing or malformed, the format or version is not one this reader
     *                              serves, or a dimension is out of range (the message names the key)
     */
    public static TarqDimensions fromMetadata(Path file, Map<String, String> metadata) throws ModelFormatException {
        String format = required(file, metadata, "format");
        if (!format.equals(FORMAT)) {
            throw ModelFormatException.ofMetadata(file, "format", "is \"" + format + "\", not \"" + FORMAT + "\"");
        }
        int version = decimal(file, metadata, "format_version");
        if (version > FORMAT_VERSION) {
            throw ModelFormatException.ofMetadata(file, "format_version", version + " is newer than this reader (it reads "
                    + FORMAT_VERSION_1 + " and " + FORMAT_VERSION_2 + "): upgrade tarq");
        }
        if (version < FORMAT_VERSION_1) {
            throw ModelFormatException.ofMetadata(file, "format_version", version + " is not a version of the format");
        }
        required(file, metadata, "producer");
        int crossDim = 0;
        if (version == FORMAT_VERSION_2) {
            if (!metadata.containsKey("cross_dim")) {
                throw ModelFormatException.ofMetadata(file, "cross_dim", "missing: format_version 2 has the cross head");
            }
            crossDim = decimal(file, metadata, "cross_dim");
            if (crossDim == 0) {
                throw ModelFormatException.ofMetadata(file, "cross_dim", "0 is out of range: must be in 1..d");
            }
        } else if (metadata.containsKey("cross_dim")) {
            throw ModelFormatException.ofMetadata(file, "cross_dim", "present, but format_version 1 has no cross head "
                    + "(a file with the cross head is format_version 2)");
        }
        try {
            return new TarqDimensions(
                    decimal(file, metadata, "d"), decimal(file, metadata, "heads"), decimal(file, metadata, "dv"),
                    decimal(file, metadata, "mlp_hidden"), decimal(file, metadata, "n_max"),
                    decimal(file, metadata, "levels"), decimal(file, metadata, "codebook_size"),
                    decimal(file, metadata, "items"), decimal(file, metadata, "users"), crossDim);
        } catch (IllegalDimensionException e) {
            throw ModelFormatException.ofMetadata(file, e.key, e.getMessage());
        }
    }

    private static String required(Path file, Map<String, String> metadata, String key) throws ModelFormatException {
        String value = metadata.get(key);
        if (value == null) {
            throw ModelFormatException.ofMetadata(file, key, "missing");
        }
        return value;
    }

    /** Decimal digits only, no sign, no leading zero, fitting an int: the contract writes numbers in decimal. */
    private static int decimal(Path file, Map<String, String> metadata, String key) throws ModelFormatException {
        String value = required(file, metadata, key);
        boolean digits = !value.isEmpty() && value.chars().allMatch(c -> c >= '0' && c <= '9');
        if (!digits || (value.length() > 1 && value.charAt(0) == '0')) {
            throw ModelFormatException.ofMetadata(file, key, "\"" + value + "\" is not a decimal integer");
        }
        if (value.length() > 10 || Long.parseLong(value) > Integer.MAX_VALUE) {
            throw ModelFormatException.ofMetadata(file, key, value + " is larger than " + Integer.MAX_VALUE);
        }
        return Integer.parseInt(value);
    }

    private static void require(boolean ok, String key, int value, String rule) {
        if (!ok) {
            throw new IllegalDimensionException(key, value + " is out of range: must be " + rule);
        }
    }

    /** A dimension outside the contract's limits; {@link #fromMetadata} turns it into a {@link ModelFormatException}. */
    public static final class IllegalDimensionException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        /** The metadata key of the offending dimension. */
        private final String key;

        IllegalDimensionException(String key, String message) {
            super(message);
            this.key = key;
        }

        /**
         * Returns which dimension is out of range.
         *
         * @return its metadata key ("d", "n_max", "codebook_size", ...)
         */
        public String key() {
            return key;
        }
    }
}
