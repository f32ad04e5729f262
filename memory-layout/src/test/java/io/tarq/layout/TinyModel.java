package io.tarq.layout;

import io.tarq.layout.safetensors.DType;
import io.tarq.layout.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A small valid TARQ model as editable parts (metadata and raw tensors), so that each bad-input test breaks exactly
 * one thing and writes the file.
 */
final class TinyModel {
    record Tensor(DType dtype, long[] shape, byte[] bytes) {
    }

    final Map<String, String> metadata = new LinkedHashMap<>();
    final Map<String, Tensor> tensors = new LinkedHashMap<>();
    final int n;
    final int d;
    final int dv;
    final int levels;
    final int codebookSize;
    private final Random random = new Random(1234);

    TinyModel() {
        this(40, 16, 2, 16, 24, 3, 16, 10, 8);
    }

    TinyModel(int items, int d, int heads, int dv, int f, int levels, int codebookSize, int users, int nMax) {
        this.n = items;
        this.d = d;
        this.dv = dv;
        this.levels = levels;
        this.codebookSize = codebookSize;
        metadata.put("format", "tarq");
        metadata.put("format_version", "1");
        metadata.put("d", "" + d);
        metadata.put("heads", "" + heads);
        metadata.put("dv", "" + dv);
        metadata.put("mlp_hidden", "" + f);
        metadata.put("n_max", "" + nMax);
        metadata.put("levels", "" + levels);
        metadata.put("codebook_size", "" + codebookSize);
        metadata.put("items", "" + items);
        metadata.put("users", "" + users);
        metadata.put("producer", "tarq tests");

        long[] itemIds = new long[items];
        for (int i = 0; i < items; i++) {
            itemIds[i] = 5000 + 3L * i;
        }
        longs("item.ids", itemIds, items);
        floats("item.emb", items, d);
        float[] vec = new float[items * dv];
        for (int i = 0; i < items; i++) {
            double norm = 0;
            for (int j = 0; j < dv; j++) {
                vec[i * dv + j] = (float) random.nextGaussian();
                norm += vec[i * dv + j] * vec[i * dv + j];
            }
            for (int j = 0; j < dv; j++) {
                vec[i * dv + j] /= (float) Math.sqrt(norm);
            }
        }
        put("item.vec", DType.F32, new long[] {items, dv}, floatBytes(vec));
        byte[] codes = new byte[levels * items];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) random.nextInt(codebookSize);
        }
        put("item.codes", DType.U8, new long[] {levels, items}, codes);
        long[] userIds = new long[users];
        for (int u = 0; u < users; u++) {
            userIds[u] = 100L * u;
        }
        longs("user.ids", userIds, users);
        floats("user.emb", users, d);
        floats("seq.pos", nMax, d);
        attention("seq.attn");
        floats("seq.ln.weight", d);
        floats("seq.ln.bias", d);
        attention("user.attn");
        floats("user.mlp.0.weight", f, 2 * d);
        floats("user.mlp.0.bias", f);
        floats("user.mlp.2.weight", dv, f);
        floats("user.mlp.2.bias", dv);
        attention("ta.attn");
        floats("ta.readout.weight", d, dv);
        floats("ta.readout.bias", d);
        floats("head.tau", 1);
        floats("head.beta", 1);
        floats("rq.codebooks", levels, codebookSize, d);
        attention("rq.attn");
        floats("rq.attn.wq", levels, d, d);
        floats("rq.attn.bq", levels, d);
    }

    /**
     * Makes this a format-2 model: the cross head of width dx, with {@code item.cross = W_x·item.emb + b_x} computed
     * in double and rounded, as a writer does.
     */
    TinyModel withCrossHead(int dx) {
        metadata.put("format_version", "2");
        metadata.put("cross_dim", "" + dx);
        floats("ta.cross.a", dx, d).floats("ta.cross.item.weight", dx, d).floats("ta.cross.item.bias", dx);
        float[] weight = floatsOf("ta.cross.item.weight"), bias = floatsOf("ta.cross.item.bias");
        float[] emb = floatsOf("item.emb");
        float[] cross = new float[n * dx];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < dx; c++) {
                double q = bias[c];
                for (int t = 0; t < d; t++) {
                    q += (double) weight[c * d + t] * emb[i * d + t];
                }
                cross[i * dx + c] = (float) q;
            }
        }
        return put("item.cross", DType.F32, new long[] {n, dx}, floatBytes(cross));
    }

    float[] floatsOf(String name) {
        ByteBuffer b = ByteBuffer.wrap(tensors.get(name).bytes()).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[b.capacity() / 4];
        b.asFloatBuffer().get(values);
        return values;
    }

    private void attention(String prefix) {
        for (String w : new String[] {"wq", "wk", "wv", "wo"}) {
            floats(prefix + "." + w, d, d);
        }
        for (String b : new String[] {"bq", "bk", "bv", "bo"}) {
            floats(prefix + "." + b, d);
        }
    }

    TinyModel floats(String name, long... shape) {
        long count = 1;
        for (long s : shape) {
            count *= s;
        }
        float[] values = new float[(int) count];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextGaussian() * 0.1);
        }
        return put(name, DType.F32, shape, floatBytes(values));
    }

    TinyModel longs(String name, long[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return put(name, DType.I64, shape, b.array());
    }

    TinyModel put(String name, DType dtype, long[] shape, byte[] bytes) {
        tensors.put(name, new Tensor(dtype, shape, bytes));
        return this;
    }

    /** Sets one float of an F32 tensor (flat index). */
    TinyModel setFloat(String name, int index, float value) {
        ByteBuffer.wrap(tensors.get(name).bytes()).order(ByteOrder.LITTLE_ENDIAN).putFloat(index * 4, value);
        return this;
    }

    /** Sets one long of an I64 tensor (flat index). */
    TinyModel setLong(String name, int index, long value) {
        ByteBuffer.wrap(tensors.get(name).bytes()).order(ByteOrder.LITTLE_ENDIAN).putLong(index * 8, value);
        return this;
    }

    static byte[] floatBytes(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    Path write(Path path) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter().metadata(metadata);
        tensors.forEach((name, t) -> w.addRaw(name, t.dtype(), t.shape(), t.bytes()));
        w.write(path);
        return path;
    }
}
