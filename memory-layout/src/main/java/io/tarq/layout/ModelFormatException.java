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
    /** What in the file is at fault, or null for the whole file. */
    private final String subject;
    /** The fault alone, without file and subject. */
    private final String fault;

    /**
     * Creates the exception without a cause.
     *
     * @param file    the file at fault
     * @param subject what in it is at fault ("tensor item.codes", "metadata d", "header"), or null for the whole file
     * @param fault   what is wrong
     * @throws NullPointerException {@code fault} is null
     */
    public ModelFormatException(Path file, String subject, String fault) {
        this(file, subject, fault, null);
    }

    /**
     * Creates the exception. Subject and fault quote the file's own text, so they are made one line
     * ({@link OneLine}).
     *
     * @param file    the file at fault
     * @param subject what in it is at fault ("tensor item.codes", "metadata d", "header"), or null for the whole file
     * @param fault   what is wrong
     * @param cause   the underlying exception, or null
     * @throws NullPointerException {@code fault} is null
     */
    public ModelFormatException(Path file, String subject, String fault, Throwable cause) {
        super(file + ": " + (subject == null ? "" : OneLine.of(subject) + ": ") + OneLine.of(fault), cause);
        this.file = file;
        this.subject = subject == null ? null : OneLine.of(subject);
        this.fault = OneLine.of(fault);
    }

    /**
     * Creates the exception for a fault in one tensor; its subject is {@code "tensor <name>"}.
     *
     * @param file   the file at fault
     * @param tensor the tensor's name
     * @param fault  what is wrong with it
     * @return the exception, to throw
     */
    public static ModelFormatException ofTensor(Path file, String tensor, String fault) {
        return new ModelFormatException(file, "tensor " + tensor, fault);
    }

    /**
     * Creates the exception for a fault in one metadata entry; its subject is {@code "metadata <key>"}.
     *
     * @param file  the file at fault
     * @param key   the metadata key
     * @param fault what is wrong with its value
     * @return the exception, to throw
     */
    public static ModelFormatException ofMetadata(Path file, String key, String fault) {
        return new ModelFormatException(file, "metadata " + key, fault);
    }

    /**
     * Returns the file at fault. Not serialized: null in a deserialized exception.
     *
     * @return the file's path
     */
    public Path file() {
        return file;
    }

    /**
     * Returns what in the file is at fault.
     *
     * @return "tensor item.emb", "metadata levels", "header" and the like, or null for the whole file
     */
    public String subject() {
        return subject;
    }

    /**
     * Returns the fault alone, without file and subject.
     *
     * @return the fault, on one line
     */
    public String fault() {
        return fault;
    }
}
