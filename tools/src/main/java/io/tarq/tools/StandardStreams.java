package io.tarq.tools;

import java.io.BufferedReader;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * {@code -} as a file option's value: standard input for an input, standard output for an output (write {@code ./-}
 * for a file of that name). Inputs are read as strict UTF-8 either way: a malformed byte is a
 * {@link java.nio.charset.CharacterCodingException}, never a replacement character.
 */
final class StandardStreams {
    static final String DASH = "-";

    private StandardStreams() {
    }

    static boolean isDash(Path path) {
        return path.toString().equals(DASH);
    }

    /**
     * A model output cannot be {@code -}: it is mapped, written and renamed into place when complete. Without this
     * check, {@code --out -} would quietly write a file named "-".
     */
    static void requireModelFile(CommandSpec spec, String option, Path path) {
        if (isDash(path)) {
            throw new ParameterException(spec.commandLine(), option + " -: a model is written to a file (renamed into "
                    + "place when complete), not to stdout; name a file (./- for one called \"-\")");
        }
    }

    /** How messages name an input: its path, or {@code stdin}. */
    static String inputName(Path path) {
        return isDash(path) ? "stdin" : path.toString();
    }

    /** How messages name an output: its path, or {@code stdout}. */
    static String outputName(Path path) {
        return isDash(path) ? "stdout" : path.toString();
    }

    /**
     * The text of {@code path}, or of {@code stdin} for {@code -}, which closing the reader leaves open. A directory
     * is refused naming its path: reading one fails later with a bare "Is a directory".
     */
    static BufferedReader reader(Path path, InputStream stdin) throws IOException {
        if (isDash(path)) {
            InputStream open = new FilterInputStream(stdin) {
                @Override
                public void close() {
                }
            };
            return new BufferedReader(new InputStreamReader(open, StandardCharsets.UTF_8.newDecoder()));
        }
        if (Files.isDirectory(path)) {
            throw new FileSystemException(path.toString(), null, "is a directory, not a file");
        }
        return Files.newBufferedReader(path, StandardCharsets.UTF_8);
    }

    /**
     * Prepares, before any work, a file output: refuses a directory, naming it (the final rename would fail after
     * all the work), and creates missing parent directories, as the model writers do.
     */
    static void prepareOutputFile(Path path) throws IOException {
        Path absolute = path.toAbsolutePath();
        if (Files.isDirectory(absolute)) {
            throw new FileSystemException(path.toString(), null, "is a directory, not a file");
        }
        Files.createDirectories(absolute.getParent());
    }

    /**
     * Standard output as a {@link Writer} that reports a failed write (a closed pipe: {@link PrintWriter} only sets a
     * flag) as an {@link IOException}, checked every {@value #CHECK_EVERY_CHARS} characters so that a reader that went
     * away stops the run, and that leaves standard output open on {@link #close()}.
     */
    static Writer stdout(PrintWriter out) {
        return new StdoutWriter(out);
    }

    private static final int CHECK_EVERY_CHARS = 1 << 16;

    private static final class StdoutWriter extends Writer {
        private final PrintWriter out;
        private int unchecked;

        StdoutWriter(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void write(char[] chars, int offset, int length) throws IOException {
            out.write(chars, offset, length);
            written(length);
        }

        @Override
        public void write(String text, int offset, int length) throws IOException {
            out.write(text, offset, length);
            written(length);
        }

        private void written(int length) throws IOException {
            unchecked += length;
            if (unchecked >= CHECK_EVERY_CHARS) {
                unchecked = 0;
                flush();
            }
        }

        /** {@link PrintWriter#checkError()} flushes first. */
        @Override
        public void flush() throws IOException {
            if (out.checkError()) {
                throw new IOException("stdout: write failed (was the pipe closed?)");
            }
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
