package io.tarq.engine.synth;

/**
 * The dimensions and options of a synthetic model (random weights, for tests and benchmarks at scale). Defaults are
 * the contract's: d = 64, h = 4, dv = 64, f = 128, n_max = 100, L = 3, K = 256.
 */
public record SyntheticModelSpec(int items, int users, int d, int heads, int dv, int mlpHidden, int nMax,
                                 int levels, int codebookSize, boolean nullKeys, int taMlpHidden, long seed) {

    public static SyntheticModelSpec defaults(int items) {
        return new SyntheticModelSpec(items, 1000, 64, 4, 64, 128, 100, 3, 256, false, 0, 42);
    }

    public SyntheticModelSpec withItems(int value) {
        return new SyntheticModelSpec(value, users, d, heads, dv, mlpHidden, nMax, levels, codebookSize, nullKeys, taMlpHidden, seed);
    }

    public SyntheticModelSpec withUsers(int value) {
        return new SyntheticModelSpec(items, value, d, heads, dv, mlpHidden, nMax, levels, codebookSize, nullKeys, taMlpHidden, seed);
    }

    public SyntheticModelSpec withDims(int dValue, int headsValue, int dvValue, int mlpHiddenValue) {
        return new SyntheticModelSpec(items, users, dValue, headsValue, dvValue, mlpHiddenValue, nMax, levels, codebookSize, nullKeys, taMlpHidden, seed);
    }

    public SyntheticModelSpec withNMax(int value) {
        return new SyntheticModelSpec(items, users, d, heads, dv, mlpHidden, value, levels, codebookSize, nullKeys, taMlpHidden, seed);
    }

    public SyntheticModelSpec withCodebook(int levelsValue, int codebookSizeValue) {
        return new SyntheticModelSpec(items, users, d, heads, dv, mlpHidden, nMax, levelsValue, codebookSizeValue, nullKeys, taMlpHidden, seed);
    }

    public SyntheticModelSpec withNullKeys(boolean value) {
        return new SyntheticModelSpec(items, users, d, heads, dv, mlpHidden, nMax, levels, codebookSize, value, taMlpHidden, seed);
    }

    /** A DIN-style teacher head with this hidden width (0: the readout head). */
    public SyntheticModelSpec withTaMlpHidden(int value) {
        return new SyntheticModelSpec(items, users, d, heads, dv, mlpHidden, nMax, levels, codebookSize, nullKeys, value, seed);
    }

    public SyntheticModelSpec withSeed(long value) {
        return new SyntheticModelSpec(items, users, d, heads, dv, mlpHidden, nMax, levels, codebookSize, nullKeys, taMlpHidden, value);
    }
}
