package io.tarq.layout.safetensors;

import io.tarq.layout.ModelFormatException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The parsed and checked JSON header of a safetensors file. Everything here works on the header bytes and the file
 * size alone: no tensor byte is read, so checking a header costs the same for a 1 KB file and a 50 GB one.
 */
record SafetensorsHeader(Map<String, String> metadata, List<TensorEntry> tensors) {
    static final String METADATA_KEY = "__metadata__";
    private static final Set<String> ENTRY_FIELDS = Set.of("dtype", "shape", "data_offsets");

    /**
     * Parses {@code headerBytes} and checks every tensor entry against a data section of {@code dataByteSize}
     * bytes. Tensors come back sorted by offset.
     */
    static SafetensorsHeader parse(Path file, byte[] headerBytes, long dataByteSize) throws ModelFormatException {
        String text = decodeUtf8(file, headerBytes);
        Object root;
        try {
            root = Json.parse(text);
        } catch (JsonException e) {
            if (e.duplicateKey() != null && e.depth() == 1) {
                throw ModelFormatException.ofTensor(file, e.duplicateKey(), "appears twice in the header");
            }
            throw new ModelFormatException(file, "header", "invalid JSON: " + e.getMessage());
        }
        if (!(root instanceof Map<?, ?> entries)) {
            throw new ModelFormatException(file, "header", "is not a JSON object");
        }
        Map<String, String> metadata = Map.of();
        List<TensorEntry> tensors = new ArrayList<>();
        for (Map.Entry<?, ?> e : entries.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals(METADATA_KEY)) {
                metadata = metadata(file, e.getValue());
            } else {
                tensors.add(entry(file, name, e.getValue(), dataByteSize));
            }
        }
        tensors.sort(Comparator.comparingLong(TensorEntry::begin).thenComparingLong(TensorEntry::end));
        checkTiling(file, tensors, dataByteSize);
        return new SafetensorsHeader(metadata, List.copyOf(tensors));
    }

    private static String decodeUtf8(Path file, byte[] bytes) throws ModelFormatException {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new ModelFormatException(file, "header", "is not valid UTF-8");
        }
    }

    private static Map<String, String> metadata(Path file, Object value) throws ModelFormatException {
        if (!(value instanceof Map<?, ?> map)) {
            throw new ModelFormatException(file, "header", METADATA_KEY + " is not a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getValue() instanceof String s)) {
                throw ModelFormatException.ofMetadata(file, (String) e.getKey(), "value is not a string");
            }
            metadata.put((String) e.getKey(), s);
        }
        return java.util.Collections.unmodifiableMap(metadata);
    }

    private static TensorEntry entry(Path file, String name, Object value, long dataByteSize)
            throws ModelFormatException {
        if (!(value instanceof Map<?, ?> fields)) {
            throw ModelFormatException.ofTensor(file, name, "header entry is not a JSON object");
        }
        for (String field : ENTRY_FIELDS) {
            if (!fields.containsKey(field)) {
                throw ModelFormatException.ofTensor(file, name, "header entry has no \"" + field + "\"");
            }
        }
        for (Object field : fields.keySet()) {
            if (!ENTRY_FIELDS.contains(field)) {
                throw ModelFormatException.ofTensor(file, name, "unknown header field \"" + field + "\"");
            }
        }
        if (!(fields.get("dtype") instanceof String dtypeName)) {
            throw ModelFormatException.ofTensor(file, name, "dtype is not a string");
        }
        DType dtype = DType.fromHeaderName(dtypeName).orElseThrow(
                () -> ModelFormatException.ofTensor(file, name, "unknown dtype \"" + dtypeName + "\""));

        long[] shape = longs(file, name, "shape", fields.get("shape"), -1);
        long[] offsets = longs(file, name, "data_offsets", fields.get("data_offsets"), 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw ModelFormatException.ofTensor(file, name, "data_offsets [" + begin + ", " + end + "] end before they begin");
        }
        long byteSize = byteSize(file, name, dtype, shape);
        if (end - begin != byteSize) {
            throw ModelFormatException.ofTensor(file, name, "data_offsets [" + begin + ", " + end + "] hold "
                    + (end - begin) + " bytes but shape " + Arrays.toString(shape) + " of " + dtype + " needs " + byteSize);
        }
        if (end > dataByteSize) {
            throw ModelFormatException.ofTensor(file, name, "ends at data byte " + end + " but the file holds only "
                    + dataByteSize + " data bytes (file truncated?)");
        }
        return new TensorEntry(name, dtype, shape, begin, end);
    }

    /** A JSON array of non-negative integers (of exactly {@code length} entries unless -1). */
    private static long[] longs(Path file, String name, String field, Object value, int length)
            throws ModelFormatException {
        if (!(value instanceof List<?> list)) {
            throw ModelFormatException.ofTensor(file, name, field + " is not a JSON array");
        }
        if (length >= 0 && list.size() != length) {
            throw ModelFormatException.ofTensor(file, name, field + " has " + list.size() + " entries, not " + length);
        }
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object v = list.get(i);
            if (v instanceof BigInteger big) {
                throw ModelFormatException.ofTensor(file, name, field + "[" + i + "] = " + big + " does not fit in 63 bits");
            }
            if (!(v instanceof Long l)) {
                throw ModelFormatException.ofTensor(file, name, field + "[" + i + "] = " + v + " is not an integer");
            }
            if (l < 0) {
                throw ModelFormatException.ofTensor(file, name, field + "[" + i + "] = " + l + " is negative");
            }
            out[i] = l;
        }
        return out;
    }

    private static long byteSize(Path file, String name, DType dtype, long[] shape) throws ModelFormatException {
        try {
            long size = dtype.byteSize();
            for (long s : shape) {
                size = Math.multiplyExact(size, s);
            }
            return size;
        } catch (ArithmeticException e) {
            throw ModelFormatException.ofTensor(file, name,
                    "shape " + Arrays.toString(shape) + " of " + dtype + " overflows a 64-bit byte size");
        }
    }

    /** Sorted by offset, the tensors must cover the data section exactly: no overlap, no gap, nothing after. */
    private static void checkTiling(Path file, List<TensorEntry> sorted, long dataByteSize) throws ModelFormatException {
        long expected = 0;
        TensorEntry previous = null;
        for (TensorEntry t : sorted) {
            if (t.begin() < expected) {
                throw ModelFormatException.ofTensor(file, t.name(), "bytes [" + t.begin() + ", " + t.end()
                        + ") overlap tensor " + previous.name() + " [" + previous.begin() + ", " + previous.end() + ")");
            }
            if (t.begin() > expected) {
                throw ModelFormatException.ofTensor(file, t.name(), "starts at data byte " + t.begin() + ", leaving a hole of "
                        + (t.begin() - expected) + " bytes after " + (previous == null ? "the header" : "tensor " + previous.name()));
            }
            expected = t.end();
            previous = t;
        }
        if (expected != dataByteSize) {
            throw new ModelFormatException(file, "data", (dataByteSize - expected)
                    + " bytes after the last tensor belong to no tensor");
        }
    }
}
