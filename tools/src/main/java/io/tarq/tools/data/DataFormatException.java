package io.tarq.tools.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A data file that cannot be read as its format says; the Java twin of the trainer's {@code DataError}. The message
 * is one line: the file, then {@code line N} when the fault belongs to one line, then the fault, e.g.
 * {@code Beauty.txt: line 17: 'abc' is not an integer item id}.
 */
public final class DataFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String file;
    private final int line;
    private final String fault;

    public DataFormatException(Path file, String fault) {
        this(file, 0, fault);
    }

    /** {@code line} is 1-based; 0 when the fault belongs to no line. */
    public DataFormatException(Path file, int line, String fault) {
        super(message(file.toString(), line, fault));
        this.file = file.toString();
        this.line = line;
        this.fault = fault;
    }

    private static String message(String file, int line, String fault) {
        String text = file + ": " + (line > 0 ? "line " + line + ": " : "") + fault;
        // Faults quote file content escaped (Text.show), so they hold no raw line break; this guards the one-line promise.
        return text.replace('\n', ' ').replace('\r', ' ');
    }

    public String file() {
        return file;
    }

    /** 1-based, 0 when the fault belongs to no line. */
    public int line() {
        return line;
    }

    public String fault() {
        return fault;
    }
}
