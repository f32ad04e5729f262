package io.tarq.layout;

import io.tarq.layout.safetensors.DType;
import java.util.Arrays;
import java.util.Map;

/**
 * One tensor the contract names: its dtype and its shape written as the contract writes it ({@code "[L, N]"}),
 * evaluated against the model's dimensions when a file is checked, so that an error can say both
 * {@code [L, N]} and {@code [3, 1000]}.
 */
record TensorSpec(String name, DType dtype, String shape) {

    static TensorSpec f32(String name, String shape) {
        return new TensorSpec(name, DType.F32, shape);
    }

    static TensorSpec i64(String name, String shape) {
        return new TensorSpec(name, DType.I64, shape);
    }

    /** The symbols of the shape, e.g. {@code ["L", "N"]}. */
    String[] symbols() {
        String inner = shape.substring(1, shape.length() - 1).trim();
        return inner.isEmpty() ? new String[0] : inner.split(",\\s*");
    }

    /** The shape with every symbol replaced by its value in {@code symbols}. */
    long[] evaluate(Map<String, Long> symbols) {
        String[] names = symbols();
        long[] out = new long[names.length];
        for (int i = 0; i < names.length; i++) {
            Long value = symbols.get(names[i]);
            if (value == null) {
                throw new IllegalStateException("no value for shape symbol " + names[i] + " of " + name);
            }
            out[i] = value;
        }
        return out;
    }

    String describe(Map<String, Long> symbols) {
        return shape + " = " + Arrays.toString(evaluate(symbols));
    }
}
