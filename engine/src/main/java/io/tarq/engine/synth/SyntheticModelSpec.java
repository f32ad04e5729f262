package io.tarq.engine.synth;

/**
 * The dimensions and options of a synthetic model (random weights, for tests and benchmarks at scale). Defaults are
 * the contract's: d = 64, h = 4, dv = 64, f = 128, n_max = 100, L = 3, K = 256, no cross head.
 */
public record SyntheticModelSpec(int items, int users, int d, int heads, int dv, int mlpHidden, int nMax,
                                 int levels, int codebookSize, boolean nullKeys, int taMlpHidden, long seed,
                                 int crossDim) {

    public SyntheticModelSpec(int items, int users, int d, int heads, int dv, int mlpHidden, int nMax, int levels,
                              int codebookSize, boolean nullKeys, int taMlpHidden, long seed) {
        this(items, users, d, heads, dv, mlpHidden, nMax, levels, codebookSize, nullKeys, taMlpHidden, seed, 0);
    }

    public static SyntheticModelSpec defaults(int items) {
        return new SyntheticModelSpec(items, 1000, 64, 4, 64, 128, 100, 3, 256, false, 0, 42);
    }

    /** The cross head of format version 2 with rows of width dx (0: none, format version 1). */
    public SyntheticModelSpec withCrossDim(int value) {
        return new SyntheticModelSpec(items, users, d, heads, dv, mlpHidden, nMax, levels, codebookSize, nullKeys, taMlpHidden, seed, value);
    }

    public SyntheticModelSpec withItems(int value) {
        return new SyntheticModelSpec(value, users, d, heads, dv, mlpHidden, nMax, levels, codebookSize, nullKeys, taMlpHidden, seed, crossDim);
    }

    public SyntheticModelSpec withUsers(int value) {
        return new SyntheticModelSpec(items, value, d, heads, dv, mlpHidden, nMax, levels, codebookSize, nullKeys, taMlpHidden, seed, crossDim);
    }

    public SyntheticModelSpec withDims(int dValue, int headsValue, int dvValue, int mlpHiddenValue) {
        return new SyntheticModelSpec(items, users, dValue, headsValue, dvValue, mlpHiddenValue, nMax, levels, codebookSize, nullKeys, taMlpHidden, seed, crossDim);
    }

    public SyntheticModelSpec withNMax(int value) {
        return new SyntheticModelSpec(items, users, d, heads, dv, mlpHidden, value, levels, codebookSize, nullKeys, taMlpHidden, seed, crossDim);
    }

    public SyntheticModelSpec withCodebook(int levelsValue, int codebookSizeValue) {
        return new SyntheticModelSpec(items, users, d, heads, dv, mlpHidden, nMax, levelsValue, codebookSizeValue, nullKeys, taMlpHidden, seed, crossDim);
    }

    public SyntheticModelSpec withNullKeys(boolean value) {
        return new SyntheticModelSpec(items, users, d, heads, dv, mlpHidden, nMax, levels, codebookSize, value, taMlpHidden, seed, crossDim);
    }

    /** A DIN-style teacher head with this hidden width (0: the readout head). */
    public SyntheticModelSpec withTaMlpHidden(int value) {
        return new SyntheticModelSpec(items, users, d, heads, dv, mlpHidden, nMax, levels, codebookSize, nullKeys, value, seed, crossDim);
    }

    public SyntheticModelSpec withSeed(long value) {
        return new SyntheticModelSpec(items, users, d, heads, dv, mlpHidden, nMax, levels, codebookSize, nullKeys, taMlpHidden, value, crossDim);
    }
}
