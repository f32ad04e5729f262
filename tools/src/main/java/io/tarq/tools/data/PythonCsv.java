package io.tarq.tools.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Rows of a CSV text exactly as Python's {@code csv.reader(io.StringIO(text, newline=""), strict=True)} yields them
 * (the excel dialect: comma, double quote, doubled quotes inside quotes; a line ends at \n, \r\n or \r; a quoted
 * field may span lines), with {@code line_num} (the source lines read so far) for messages. A blank line is an
 * empty row. This is CPython's {@code _csv.c} state machine with the states that dialect can reach.
 */
final class PythonCsv {
    /** CPython's default {@code csv.field_size_limit()}. */
    private static final int FIELD_LIMIT = 131072;

    private enum State { START_RECORD, START_FIELD, IN_FIELD, IN_QUOTED_FIELD, QUOTE_IN_QUOTED_FIELD, EAT_CRNL }

    private final Path path;
    private final String text;
    private int position;
    private int lineNumber;
    private State state = State.START_RECORD;
    private final StringBuilder field = new StringBuilder();
    private List<String> fields = new ArrayList<>();

    PythonCsv(Path path, String text) {
        this.path = path;
        this.text = text;
    }

    /** Python's {@code reader.line_num}. */
    int lineNumber() {
        return lineNumber;
    }

    /** The next row, or null at the end; a DataFormatException "not valid CSV: ..." as the trainer reports it. */
    List<String> next() throws DataFormatException {
        fields = new ArrayList<>();
        state = State.START_RECORD;
        do {
            if (position >= text.length()) {
                if (field.length() != 0 || state == State.IN_QUOTED_FIELD) {
                    throw error("unexpected end of data");
                }
                return null;
            }
            lineNumber++;
            int end = lineEnd(position);
            for (int i = position; i < end; i++) {
                process(text.charAt(i));
            }
            position = end;
            process(-1); // EOL
        } while (state != State.START_RECORD);
        return fields;
    }

    /** The end (exclusive, after its terminator) of the line starting at {@code from}: io.StringIO with newline="". */
    private int lineEnd(int from) {
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n') {
                return i + 1;
            }
            if (c == '\r') {
                return i + 1 < text.length() && text.charAt(i + 1) == '\n' ? i + 2 : i + 1;
            }
        }
        return text.length();
    }

    private void process(int c) throws DataFormatException {
        boolean eol = c == -1;
        boolean lineBreak = c == '\n' || c == '\r';
        switch (state) {
            case START_RECORD -> {
                if (eol) {
                    return; // an empty line: an empty row
                }
                if (lineBreak) {
                    state = State.EAT_CRNL;
                    return;
                }
                state = State.START_FIELD;
                startField(c);
            }
            case START_FIELD -> startField(c);
            case IN_FIELD -> {
                if (eol || lineBreak) {
                    saveField();
                    state = eol ? State.START_RECORD : State.EAT_CRNL;
                } else if (c == ',') {
                    saveField();
                    state = State.START_FIELD;
                } else {
                    add(c);
                }
            }
            case IN_QUOTED_FIELD -> {
                if (eol) {
                    return; // a line break inside quotes: the field goes on in the next line
                }
                if (c == '"') {
                    state = State.QUOTE_IN_QUOTED_FIELD;
                } else {
                    add(c);
                }
            }
            case QUOTE_IN_QUOTED_FIELD -> {
                if (c == '"') {
                    add(c);
                    state = State.IN_QUOTED_FIELD;
                } else if (c == ',') {
                    saveField();
                    state = State.START_FIELD;
                } else if (eol || lineBreak) {
                    saveField();
                    state = eol ? State.START_RECORD : State.EAT_CRNL;
                } else {
                    throw error("',' expected after '\"'");
                }
            }
            case EAT_CRNL -> {
                if (eol) {
                    state = State.START_RECORD;
                } else if (!lineBreak) {
                    throw error("new-line character seen in unquoted field - do you need to open the file with newline=''?");
                }
            }
        }
    }

    private void startField(int c) throws DataFormatException {
        if (c == -1 || c == '\n' || c == '\r') {
            saveField();
            state = c == -1 ? State.START_RECORD : State.EAT_CRNL;
        } else if (c == '"') {
            state = State.IN_QUOTED_FIELD;
        } else if (c == ',') {
            saveField();
        } else {
            add(c);
            state = State.IN_FIELD;
        }
    }

    private void add(int c) throws DataFormatException {
        if (field.length() >= FIELD_LIMIT) {
            throw error("field larger than field limit (" + FIELD_LIMIT + ")");
        }
        field.append((char) c);
    }

    private void saveField() {
        fields.add(field.toString());
        field.setLength(0);
    }

    private DataFormatException error(String message) {
        return new DataFormatException(path, lineNumber, "not valid CSV: " + message);
    }
}
