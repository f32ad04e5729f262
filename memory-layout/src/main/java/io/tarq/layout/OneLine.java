package io.tarq.layout;

/**
 * Error messages quote their input (tensor names, JSON, request text), which may hold any character. Control and
 * line-separator characters are shown as a backslash, 'u' and four hex digits, so that a message stays one line, as the
 * command line promises (found by ModelReaderFuzzTest: a raw carriage return in an invalid JSON escape split a
 * ModelFormatException's message in two).
 */
public final class OneLine {
    private OneLine() {
    }

    /**
     * Escapes every control and line-separator character of {@code text} (C0 controls, DEL, NEL, U+2028, U+2029).
     *
     * @param text any string
     * @return the escaped string; {@code text} itself when it has no such character
     * @throws NullPointerException {@code text} is null
     */
    public static String of(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean unprintable = c < 0x20 || c == 0x7f || c == 0x85 || c == 0x2028 || c == 0x2029;
            if (unprintable && out == null) {
                out = new StringBuilder(text.length() + 16).append(text, 0, i);
            }
            if (out != null) {
                if (unprintable) {
                    out.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
                } else {
                    out.append(c);
                }
            }
        }
        return out == null ? text : out.toString();
    }
}
