package io.tarq.tools.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The S3-Rec sequence format as the trainer reads it ({@code tarq/data/s3rec.py}): one line per user,
 * {@code user_id item_1 ... item_n}, integers separated by spaces or tabs, items oldest first. Blank lines are
 * skipped; a line with a user id and no item, a repeated user id, the reserved user id -1 or a token that is not an
 * integer is an error naming the file and line, with the trainer's wording.
 *
 * <p>The attributes file does not change the catalog (the items of the sequences) and evaluation needs no
 * attribute: it is only checked to exist and to be readable.
 */
public final class S3RecReader {
    private static final Pattern INTEGER = Pattern.compile("-?[0-9]+");
    private static final Pattern LINE = Pattern.compile("[ \\t]*-?[0-9]+(?:[ \\t]+-?[0-9]+)*[ \\t]*");
    private static final Pattern SEPARATOR = Pattern.compile("[ \\t]+");

    private S3RecReader() {
    }

    /** The dataset of {@code sequences}; {@code attributes} may be null. Named like the trainer: the file's stem. */
    public static SequenceDataset read(Path sequences, Path attributes) throws DataFormatException {
        List<Long> users = new ArrayList<>();
        List<long[]> items = new ArrayList<>();
        readSequences(sequences, users, items);
        if (attributes != null) {
            Text.read(attributes);
        }
        long[] userArray = users.stream().mapToLong(Long::longValue).toArray();
        return SequenceDataset.build(stem(sequences), userArray, items.toArray(long[][]::new));
    }

    private static void readSequences(Path path, List<Long> users, List<long[]> sequences) throws DataFormatException {
        String text = Text.read(path);
        Map<Long, Integer> firstLine = new HashMap<>();
        // split("\n") as the trainer does, not lines(): the line numbers of messages must agree.
        String[] lines = text.split("\n", -1);
        for (int index = 0; index < lines.length; index++) {
            int number = index + 1;
            String line = lines[index];
            int end = line.length();
            while (end > 0 && line.charAt(end - 1) == '\r') {
                end--;
            }
            line = line.substring(0, end);
            if (Text.isBlank(line)) {
                continue;
            }
            if (!LINE.matcher(line).matches()) {
                List<String> tokens = Text.split(line);
                for (int k = 0; k < tokens.size(); k++) {
                    if (!INTEGER.matcher(tokens.get(k)).matches()) {
                        String what = k == 0 ? "user id" : "item id";
                        throw new DataFormatException(path, number, Text.show(tokens.get(k)) + " is not an integer " + what);
                    }
                }
                throw new DataFormatException(path, number, "integers must be separated by spaces or tabs");
            }
            String[] tokens = SEPARATOR.split(line.strip());
            long[] values = new long[tokens.length];
            try {
                for (int k = 0; k < tokens.length; k++) {
                    values[k] = Long.parseLong(tokens[k]);
                }
            } catch (NumberFormatException e) {
                throw new DataFormatException(path, number, "an id does not fit in 64 bits");
            }
            long user = values[0];
            if (user == -1) {
                throw new DataFormatException(path, number, "user id -1 is reserved for the unknown user");
            }
            if (values.length == 1) {
                throw new DataFormatException(path, number, "user " + user + " has no items");
            }
            Integer first = firstLine.putIfAbsent(user, number);
            if (first != null) {
                throw new DataFormatException(path, number, "user " + user + " appears again (first on line " + first + ")");
            }
            users.add(user);
            sequences.add(java.util.Arrays.copyOfRange(values, 1, values.length));
        }
    }

    /** Python's {@code os.path.splitext(os.path.basename(p))[0]}: leading dots never start an extension. */
    static String stem(Path path) {
        Path fileName = path.getFileName();
        String name = fileName == null ? "" : fileName.toString();
        int leading = 0;
        while (leading < name.length() && name.charAt(leading) == '.') {
            leading++;
        }
        int dot = name.lastIndexOf('.');
        return dot > leading ? name.substring(0, dot) : name;
    }
}
