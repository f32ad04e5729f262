package io.tarq.layout;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A model file that cannot be served: its bytes break the safetensors format, or its contents break the TARQ
 * contract. The message is one line, {@code <file>: <subject>: <fault>}, where the subject names the tensor or
 * metadata key at fault ("tensor item.codes", "metadata d") when there is one.
 */
public final class ModelFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String subject;
    private final String fault;

    public ModelFormatException(Path file, String subject, String fault) {
        this(file, subject, fault, null);
    }

    /** Subject and fault quote the file's own text, so they are made one line ({@link OneLine}). */
    public ModelFormatException(Path file, String subject, String fault, Throwable cause) {
        super(file + ": " + (subject == null ? "" : OneLine.of(subject) + ": ") + OneLine.of(fault), cause);
        this.file = file;
        this.subject = subject == null ? null : OneLine.of(subject);
        this.fault = OneLine.of(fault);
    }

    public static ModelFormatException ofTensor(Path file, String tensor, String fault) {
        return new ModelFormatException(file, "tensor " + tensor, fault);
    }

    public static ModelFormatException ofMetadata(Path file, String key, String fault) {
        return new ModelFormatException(file, "metadata " + key, fault);
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }

    /** What in the file is at fault ("tensor item.emb", "metadata levels", "header"), or null for the whole file. */
    public String subject() {
        return subject;
    }

    /** The fault alone, without file and subject. */
    public String fault() {
        return fault;
    }
}
