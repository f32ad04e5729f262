package io.tarq.engine.kernel;

import io.tarq.layout.Layouts;
import java.lang.foreign.MemorySegment;

/** The kernels as plain loops: the specification the Vector API implementation is tested against. */
public final class ScalarKernels implements KernelSupport {
    public static final ScalarKernels INSTANCE = new ScalarKernels();

    private ScalarKernels() {
    }

    /** 2^x: queries come scaled by log₂(e)/√dh, so this is the contract's e^(x·ln 2). */
    public static float exp2(float x) {
        return (float) Math.exp(x * LN2);
    }

    private static final double LN2 = Math.log(2);

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void linear(float[] x, int xOffset, int rows, int in, float[] wT, float[] bias, int out, float[] y, int yOffset) {
        for (int r = 0; r < rows; r++) {
            int yRow = yOffset + r * out;
            for (int o = 0; o < out; o++) {
                y[yRow + o] = bias == null ? 0f : bias[o];
            }
            int xRow = xOffset + r * in;
            for (int t = 0; t < in; t++) {
                float xt = x[xRow + t];
                int wRow = t * out;
                for (int o = 0; o < out; o++) {
                    y[yRow + o] += xt * wT[wRow + o];
                }
            }
        }
    }

    @Override
    public void dotRows(MemorySegment vec, int dim, int[] rows, int count, float[] u, float scale, float shift, float[] out) {
        long rowBytes = 4L * dim;
        for (int i = 0; i < count; i++) {
            long base = rows[i] * rowBytes;
            float dot = 0;
            for (int j = 0; j < dim; j++) {
                dot += u[j] * vec.get(Layouts.F32, base + 4L * j);
            }
            out[i] = scale * dot + shift;
        }
    }

    @Override
    public void attendRows(float[] queriesT, int count, AttentionKeys keys, float[] scores, float[] out) {
        int n = keys.n, d = keys.d, dh = keys.headDim, block = QUERY_BLOCK;
        float[] k = keys.keys, u = keys.u, nullK = keys.nullK;
        for (int i = 0; i < count; i++) {
            int q = (i / block) * d * block + i % block; // component c at q + c·block
            float readout = 0;
            for (int j = 0; j < keys.heads; j++) {
                int head = j * dh;
                float max = Float.NEGATIVE_INFINITY;
                for (int m = 0; m < n; m++) {
                    float s = 0;
                    for (int t = 0; t < dh; t++) {
                        s += queriesT[q + (head + t) * block] * k[m * d + head + t];
                    }
                    scores[m] = s;
                    max = Math.max(max, s);
                }
                float nullScore = 0;
                if (nullK != null) {
                    for (int t = 0; t < dh; t++) {
                        nullScore += queriesT[q + (head + t) * block] * nullK[head + t];
                    }
                    max = Math.max(max, nullScore);
                }
                if (max == Float.NEGATIVE_INFINITY) {
                    continue; // n = 0 and no null key: the head adds nothing, the readout is ⟨bo, r⟩ alone
                }
                float sum = nullK == null ? 0f : exp2(nullScore - max); // the null key's value is 0
                float weighted = 0;
                for (int m = 0; m < n; m++) {
                    float e = exp2(scores[m] - max);
                    sum += e;
                    weighted += e * u[j * keys.stride + m];
                }
                readout += weighted / sum;
            }
            out[i] = readout;
        }
    }

    @Override
    public void attendValues(float[] queries, int count, AttentionKeys keys, float[] values, float[] scores, float[] out) {
        int n = keys.n, d = keys.d, dh = keys.headDim, stride = keys.stride;
        float[] kT = keys.keysT, nullK = keys.nullK;
        for (int i = 0; i < count; i++) {
            int q = i * d;
            for (int j = 0; j < keys.heads; j++) {
                int head = j * dh;
                float max = Float.NEGATIVE_INFINITY;
                for (int m = 0; m < n; m++) {
                    float s = 0;
                    for (int t = 0; t < dh; t++) {
                        s += queries[q + head + t] * kT[(head + t) * stride + m];
                    }
                    scores[m] = s;
                    max = Math.max(max, s);
                }
                float nullScore = 0;
                if (nullK != null) {
                    for (int t = 0; t < dh; t++) {
                        nullScore += queries[q + head + t] * nullK[head + t];
                    }
                    max = Math.max(max, nullScore);
                }
                for (int t = 0; t < dh; t++) {
                    out[q + head + t] = 0;
                }
                if (max == Float.NEGATIVE_INFINITY) {
                    continue;
                }
                float sum = nullK == null ? 0f : exp2(nullScore - max);
                for (int m = 0; m < n; m++) {
                    float e = exp2(scores[m] - max);
                    scores[m] = e;
                    sum += e;
                }
                float inverse = 1 / sum;
                for (int m = 0; m < n; m++) {
                    float weight = scores[m] * inverse;
                    for (int t = 0; t < dh; t++) {
                        out[q + head + t] += weight * values[m * d + head + t];
                    }
                }
            }
        }
    }

    @Override
    public void lutScanF32(byte[] codes, int stride, int count, int levels, int codebookSize, float[] lut, float[] out) {
        for (int l = 0; l < levels; l++) {
            int table = l * codebookSize;
            int row = l * stride;
            for (int i = 0; i < count; i++) {
                out[i] += lut[table + Byte.toUnsignedInt(codes[row + i])];
            }
        }
    }

    @Override
    public void lutScanU8(byte[] codes, int stride, int count, int levels, byte[] lutU8, short[] sums) {
        // Level-outer, like the float scan: one level's table stays in L1 while its codes stream by. (Candidate-outer
        // measured twice as slow: 3.1 against 1.6 ns a candidate at L = 3.)
        for (int i = 0; i < count; i++) {
            sums[i] = 0;
        }
        for (int l = 0; l < levels; l++) {
            int table = l * 256;
            int row = l * stride;
            for (int i = 0; i < count; i++) {
                // At most 8 × 255 = 2,040: the short never wraps.
                sums[i] = (short) (sums[i] + Byte.toUnsignedInt(lutU8[table + Byte.toUnsignedInt(codes[row + i])]));
            }
        }
    }
}
