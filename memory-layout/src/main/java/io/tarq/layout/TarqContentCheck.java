package io.tarq.layout;

import io.tarq.layout.safetensors.DType;
import io.tarq.layout.safetensors.SafetensorsFile;
import io.tarq.layout.safetensors.TensorView;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The content checks of {@code verify --full}: they read every byte of the file, so they are not part of opening.
 * Each fault names the tensor and the first element at fault, with its index in the tensor's shape.
 */
final class TarqContentCheck {
    /** Tolerance on ‖item.vec[i]‖ = 1. */
    static final double UNIT_NORM_TOLERANCE = 1e-3;
    /**
     * Tolerance on {@code item.cross = W_x·item.emb + b_x}, relative to max(1, |expected|): a float32 writer's rounding
     * is far below it, a row computed from other weights far above.
     */
    static final double CROSS_TOLERANCE = 1e-5;

    private TarqContentCheck() {
    }

    static void run(SafetensorsFile file, TarqDimensions dims, TarqTensors.Features features)
            throws ModelFormatException {
        for (TensorView t : file.tensors()) {
            if (t.dtype() == DType.F32) {
                checkFinite(file.path(), t);
            }
        }
        checkCodes(file.path(), file.tensor(TarqTensors.ITEM_CODES), dims.codebookSize());
        checkUnitRows(file.path(), file.tensor(TarqTensors.ITEM_VEC), dims.dv());
        if (dims.crossHead()) {
            checkCrossRows(file, dims);
        }
        if (features.attributes() > 0 || file.find(TarqTensors.ITEM_ATTR_IDS).isPresent()) {
            checkAttributes(file, dims.items());
        }
    }

    /** Every float of the cross head's tensors is finite (part of opening a version-2 file). */
    static void checkCrossHeadFinite(SafetensorsFile file) throws ModelFormatException {
        for (TensorSpec spec : TarqTensors.CROSS_HEAD) {
            checkFinite(file.path(), file.tensor(spec.name()));
        }
    }

    static void checkFinite(Path path, TensorView t) throws ModelFormatException {
        MemorySegment data = t.segment();
        long count = t.elementCount();
        for (long i = 0; i < count; i++) {
            // All exponent bits set means NaN or ±infinity; reading the bits avoids two float compares.
            int bits = data.getAtIndex(Layouts.I32, i);
            if ((bits & 0x7f800000) == 0x7f800000) {
                float value = Float.intBitsToFloat(bits);
                throw ModelFormatException.ofTensor(path, t.name(), "element " + index(t, i) + " is " + value);
            }
        }
    }

    static void checkCodes(Path path, TensorView codes, int codebookSize) throws ModelFormatException {
        if (codebookSize == 256) {
            return; // every byte is a valid code
        }
        MemorySegment data = codes.segment();
        long count = codes.elementCount();
        for (long i = 0; i < count; i++) {
            int code = Byte.toUnsignedInt(data.get(Layouts.U8, i));
            if (code >= codebookSize) {
                throw ModelFormatException.ofTensor(path, codes.name(), "code " + code + " at " + index(codes, i)
                        + " is out of range for codebook_size " + codebookSize);
            }
        }
    }

    private static void checkUnitRows(Path path, TensorView vec, int dv) throws ModelFormatException {
        MemorySegment data = vec.segment();
        long rows = vec.dim(0);
        for (long r = 0; r < rows; r++) {
            double sumOfSquares = 0;
            for (int j = 0; j < dv; j++) {
                double v = data.getAtIndex(Layouts.F32, r * dv + j);
                sumOfSquares += v * v;
            }
            double norm = Math.sqrt(sumOfSquares);
            if (!(Math.abs(norm - 1) <= UNIT_NORM_TOLERANCE)) {
                throw ModelFormatException.ofTensor(path, vec.name(), "row " + r + " has norm " + norm
                        + ", not 1 within " + UNIT_NORM_TOLERANCE);
            }
        }
    }

    /** {@code item.cross} is derived data: every row must be {@code W_x·item.emb[i] + b_x}, computed in double here. */
    private static void checkCrossRows(SafetensorsFile file, TarqDimensions dims) throws ModelFormatException {
        int d = dims.d(), dx = dims.crossDim();
        float[] weight = file.tensor(TarqTensors.TA_CROSS_ITEM_WEIGHT).toFloatArray(); // [dx][d]
        float[] bias = file.tensor(TarqTensors.TA_CROSS_ITEM_BIAS).toFloatArray();
        MemorySegment emb = file.tensor(TarqTensors.ITEM_EMB).segment();
        MemorySegment cross = file.tensor(TarqTensors.ITEM_CROSS).segment();
        float[] e = new float[d];
        float[] q = new float[dx];
        for (long i = 0; i < dims.items(); i++) {
            MemorySegment.copy(emb, Layouts.F32, i * d * Float.BYTES, e, 0, d);
            MemorySegment.copy(cross, Layouts.F32, i * dx * Float.BYTES, q, 0, dx);
            for (int c = 0; c < dx; c++) {
                double expected = bias[c];
                for (int t = 0; t < d; t++) {
                    expected += (double) weight[c * d + t] * e[t];
                }
                if (!(Math.abs(q[c] - expected) <= CROSS_TOLERANCE * Math.max(1, Math.abs(expected)))) {
                    throw ModelFormatException.ofTensor(file.path(), TarqTensors.ITEM_CROSS, "row " + i + " component " + c
                            + " is " + q[c] + " but W_x·item.emb + b_x = " + expected + " (tolerance " + CROSS_TOLERANCE + ")");
                }
            }
        }
    }

    private static void checkAttributes(SafetensorsFile file, int items) throws ModelFormatException {
        Path path = file.path();
        TensorView ids = file.tensor(TarqTensors.ITEM_ATTR_IDS);
        try (Arena scratch = Arena.ofConfined()) {
            IdIndex.build(path, ids, null, scratch); // finds duplicate attribute ids
        }
        long attributes = ids.dim(0);
        TensorView offsets = file.tensor(TarqTensors.ITEM_ATTR_OFFSETS);
        TensorView values = file.tensor(TarqTensors.ITEM_ATTR_VALUES);
        long nnz = values.dim(0);
        if (offsets.getLong(0) != 0) {
            throw ModelFormatException.ofTensor(path, offsets.name(), "starts at " + offsets.getLong(0) + ", not 0");
        }
        for (int i = 0; i < items; i++) {
            long begin = offsets.getLong(i);
            long end = offsets.getLong(i + 1);
            if (end < begin) {
                throw ModelFormatException.ofTensor(path, offsets.name(), "decreases at item row " + i + " (" + begin + " → " + end + ")");
            }
        }
        if (offsets.getLong(items) != nnz) {
            throw ModelFormatException.ofTensor(path, offsets.name(), "ends at " + offsets.getLong(items)
                    + " but " + values.name() + " holds " + nnz + " entries");
        }
        for (long i = 0; i < nnz; i++) {
            long row = values.getLong(i);
            if (row < 0 || row >= attributes) {
                throw ModelFormatException.ofTensor(path, values.name(), "entry " + i + " = " + row
                        + " is not an attribute row (0.." + (attributes - 1) + ")");
            }
        }
    }

    /** Flat index {@code i} as a multi-index in the tensor's shape, e.g. [12, 3]. */
    private static String index(TensorView t, long flat) {
        long[] shape = t.shape();
        long[] index = new long[shape.length];
        for (int axis = shape.length - 1; axis >= 0; axis--) {
            index[axis] = flat % shape[axis];
            flat /= shape[axis];
        }
        return Arrays.toString(index);
    }
}
