package io.tarq.tools.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Python's text conventions that the trainer's readers rely on ({@code tarq/data/dataset.py}), so that the Java
 * readers accept, reject and report exactly the same files: {@code read_text}, {@code str.isspace} and {@code show}
 * ({@code repr} of a token, shortened).
 */
final class Text {
    private Text() {
    }

    /**
     * The whole file as text: UTF-8, one leading byte-order mark dropped; a {@link DataFormatException} when it cannot
     * be read, is not UTF-8 (naming the byte and its line) or holds nothing but white space.
     */
    static String read(Path path) throws DataFormatException {
        byte[] raw;
        try {
            raw = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new DataFormatException(path, "cannot open: No such file or directory");
        } catch (AccessDeniedException e) {
            throw new DataFormatException(path, "cannot open: Permission denied");
        } catch (IOException e) {
            throw new DataFormatException(path, "cannot open: " + (Files.isDirectory(path) ? "Is a directory" : e.getMessage()));
        }
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(raw);
        CharBuffer out = CharBuffer.allocate(raw.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isUnderflow()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            int start = in.position();
            int line = 1;
            for (int i = 0; i < start; i++) {
                line += raw[i] == '\n' ? 1 : 0;
            }
            throw new DataFormatException(path, line, "not UTF-8 text (byte " + start + ": " + reason(raw, start) + ")");
        }
        out.flip();
        String text = out.toString();
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        if (isBlank(text)) {
            throw new DataFormatException(path, "file is empty");
        }
        return text;
    }

    /** Python's UnicodeDecodeError reasons, approximately: which byte broke the sequence. */
    private static String reason(byte[] raw, int start) {
        int b = raw[start] & 0xff;
        if ((b & 0xc0) == 0x80 || b == 0xc0 || b == 0xc1 || b >= 0xf5) {
            return "invalid start byte";
        }
        int length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        for (int i = 1; i < length; i++) {
            if (start + i >= raw.length) {
                return "unexpected end of data";
            }
            if ((raw[start + i] & 0xc0) != 0x80) {
                return "invalid continuation byte";
            }
        }
        return "invalid continuation byte";
    }

    /** Python's {@code str.isspace} for one code point. */
    static boolean isSpace(int c) {
        return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f
                || c == 0x3000;
    }

    /** Python's {@code not s.strip()}. */
    static boolean isBlank(String s) {
        return s.codePoints().allMatch(Text::isSpace);
    }

    /** Python's {@code s.split()}: tokens between runs of {@link #isSpace} white space. */
    static java.util.List<String> split(String s) {
        java.util.List<String> tokens = new java.util.ArrayList<>();
        int start = -1;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            if (isSpace(c)) {
                if (start >= 0) {
                    tokens.add(s.substring(start, i));
                    start = -1;
                }
            } else if (start < 0) {
                start = i;
            }
            i += Character.charCount(c);
        }
        if (start >= 0) {
            tokens.add(s.substring(start));
        }
        return tokens;
    }

    /** The trainer's {@code show}: a token quoted as Python's repr, cut to {@code limit} characters plus "...". */
    static String show(String token, int limit) {
        int length = token.codePointCount(0, token.length());
        if (length <= limit) {
            return repr(token);
        }
        return repr(token.substring(0, token.offsetByCodePoints(0, limit))) + "...";
    }

    static String show(String token) {
        return show(token, 40);
    }

    /** Python's {@code repr(str)}. */
    static String repr(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder b = new StringBuilder().append(quote);
        s.codePoints().forEach(c -> {
            if (c == quote || c == '\\') {
                b.append('\\').appendCodePoint(c);
            } else if (c == '\t') {
                b.append("\\t");
            } else if (c == '\n') {
                b.append("\\n");
            } else if (c == '\r') {
                b.append("\\r");
            } else if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", c));
            } else if (c < 0x7f || isPrintable(c)) {
                b.appendCodePoint(c);
            } else if (c <= 0xff) {
                b.append(String.format("\\x%02x", c));
            } else if (c <= 0xffff) {
                b.append(String.format("\\u%04x", c));
            } else {
                b.append(String.format("\\U%08x", c));
            }
        });
        return b.append(quote).toString();
    }

    /** Python's {@code str.isprintable} for a non-ASCII code point: not Other (C*) and not a separator but space. */
    private static boolean isPrintable(int c) {
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
                 Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR, Character.SPACE_SEPARATOR -> false;
            default -> true;
        };
    }
}
