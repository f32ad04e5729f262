package io.tarq.engine.kernel;

import io.tarq.layout.Layouts;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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
    public void layerNormRow(float[] xs, float[] as, int offset, int d, double mean, float inverse, float[] weight,
                             float[] bias, float[] out) {
        for (int c = 0; c < d; c++) {
            float centered = (float) (xs[offset + c] + as[offset + c] - mean);
            out[offset + c] = centered * inverse * weight[c] + bias[c];
        }
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
    public void dotRowsSq8(MemorySegment codes, int stride, int[] rows, int count, float[] u, float scale, float shift, float[] out) {
        for (int i = 0; i < count; i++) {
            long base = (long) rows[i] * stride;
            float dot = 0;
            for (int k = 0; k < stride; k++) {
                dot += u[k] * codes.get(ValueLayout.JAVA_BYTE, base + k);
            }
            out[i] = scale * dot + shift;
        }
    }

    @Override
    public void attendRows(float[] queriesT, int count, AttentionKeys keys, float[] scores, float[] out) {
        attend(queriesT, count, keys, scores, out, null);
    }

    @Override
    public void attendRowsCross(float[] queriesT, int count, AttentionKeys keys, float[] scores, float[] out, float[] cross) {
        attend(queriesT, count, keys, scores, out, cross);
    }

    /** Readouts of {@code count} query rows and, when {@code cross} is not null, their cross rows from the same weights. */
    private static void attend(float[] queriesT, int count, AttentionKeys keys, float[] scores, float[] out, float[] cross) {
        int d = keys.d, dh = keys.headDim, dx = keys.crossDim, heads = keys.heads, block = QUERY_BLOCK;
        for (int i = 0; i < count; i++) {
            int q = (i / block) * d * block + i % block; // component c of query i at q + c·block
            int row = i * dx;
            if (cross != null) {
                for (int c = 0; c < dx; c++) {
                    cross[row + c] = 0;
                }
            }
            float readout = 0;
            for (int j = 0; j < heads; j++) {
                float sum = softmaxWeights(queriesT, q + j * dh * block, block, keys, j, scores);
                if (sum == 0) {
                    continue; // n = 0 and no null key: the head adds nothing, the readout is ⟨bo, r⟩ alone
                }
                float weighted = 0;
                for (int m = 0; m < keys.n; m++) {
                    weighted += scores[m] * keys.u[j * keys.stride + m];
                }
                readout += weighted / sum;
                if (cross != null) {
                    for (int c = 0; c < dx; c++) {
                        float crossWeighted = 0;
                        for (int m = 0; m < keys.n; m++) {
                            crossWeighted += scores[m] * keys.crossU[(m * heads + j) * dx + c];
                        }
                        cross[row + c] += crossWeighted / sum;
                    }
                }
            }
            out[i] = readout;
        }
    }

    @Override
    public void attendValues(float[] queries, int count, AttentionKeys keys, float[] values, float[] scores, float[] out) {
        int d = keys.d, dh = keys.headDim;
        for (int i = 0; i < count; i++) {
            for (int j = 0; j < keys.heads; j++) {
                int head = i * d + j * dh;
                float sum = softmaxWeights(queries, head, 1, keys, j, scores);
                for (int t = 0; t < dh; t++) {
                    out[head + t] = 0;
                }
                if (sum == 0) {
                    continue;
                }
                for (int m = 0; m < keys.n; m++) {
                    float weight = scores[m] / sum;
                    for (int t = 0; t < dh; t++) {
                        out[head + t] += weight * values[m * d + j * dh + t];
                    }
                }
            }
        }
    }

    /**
     * Head j's softmax for one query whose component t is at {@code queries[q + t·step]}: writes the unnormalized
     * weights {@code 2^(s_m − max)} to {@code scores[0..n)} and returns their sum, the null key's weight included (its
     * value is 0, so it only adds to the sum); 0 when the head has no key and no null key.
     */
    private static float softmaxWeights(float[] queries, int q, int step, AttentionKeys keys, int j, float[] scores) {
        int n = keys.n, d = keys.d, dh = keys.headDim, head = j * dh;
        float[] k = keys.keys, nullK = keys.nullK;
        float max = Float.NEGATIVE_INFINITY;
        for (int m = 0; m < n; m++) {
            float s = 0;
            for (int t = 0; t < dh; t++) {
                s += queries[q + t * step] * k[m * d + head + t];
            }
            scores[m] = s;
            max = Math.max(max, s);
        }
        float nullScore = 0;
        if (nullK != null) {
            for (int t = 0; t < dh; t++) {
                nullScore += queries[q + t * step] * nullK[head + t];
            }
            max = Math.max(max, nullScore);
        }
        if (max == Float.NEGATIVE_INFINITY) {
            return 0;
        }
        float sum = nullK == null ? 0f : exp2(nullScore - max);
        for (int m = 0; m < n; m++) {
            scores[m] = exp2(scores[m] - max);
            sum += scores[m];
        }
        return sum;
    }

    @Override
    public void crossScan(byte[] codes, int stride, int count, int levels, int codebookSize, float[] x, int dx,
                          MemorySegment crossRows, int[] rows, float[] out) {
        for (int i = 0; i < count; i++) {
            long base = (long) rows[i] * dx * Float.BYTES;
            float dot = 0;
            for (int c = 0; c < dx; c++) {
                float sum = 0;
                for (int l = 0; l < levels; l++) {
                    sum += x[(l * codebookSize + Byte.toUnsignedInt(codes[l * stride + i])) * dx + c];
                }
                dot += sum * crossRows.get(Layouts.F32, base + (long) Float.BYTES * c);
            }
            out[i] = dot;
        }
    }

    @Override
    public void dotRowsCross(MemorySegment records, int dv, int dx, int[] rows, int count, float[] u, float scale,
                             float shift, byte[] codes, int stride, int levels, int codebookSize, float[] x, float[] out,
                             float[] cross) {
        long recordBytes = 4L * (dv + dx);
        for (int i = 0; i < count; i++) {
            long base = rows[i] * recordBytes;
            float dot = 0;
            for (int j = 0; j < dv; j++) {
                dot += u[j] * records.get(Layouts.F32, base + 4L * j);
            }
            out[i] = scale * dot + shift;
            long crossBase = base + 4L * dv;
            float crossDot = 0;
            for (int c = 0; c < dx; c++) {
                float sum = 0;
                for (int l = 0; l < levels; l++) {
                    sum += x[(l * codebookSize + Byte.toUnsignedInt(codes[l * stride + i])) * dx + c];
                }
                crossDot += sum * records.get(Layouts.F32, crossBase + (long) Float.BYTES * c);
            }
            cross[i] = crossDot;
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
        // measured about twice as slow at L = 3.)
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
