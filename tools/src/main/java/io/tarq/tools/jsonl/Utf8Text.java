package io.tarq.tools.jsonl;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Strict UTF-8 decoding of a request body, fast for the ASCII bodies requests are. The JDK's {@code String} constructor
 * copies ASCII bytes straight into a compact string; a strict {@code CharsetDecoder} decodes into a char buffer and
 * compresses it back, several passes over a body of thousands of ids. Malformed bytes become U+FFFD in the string,
 * so only a body that holds one is decoded again, strictly, to tell a malformed body from one that spells U+FFFD.
 */
public final class Utf8Text {
    private Utf8Text() {
    }

    /**
     * Decodes {@code bytes}.
     *
     * @param bytes UTF-8
     * @return the text
     * @throws CharacterCodingException the bytes are not valid UTF-8
     */
    public static String decode(byte[] bytes) throws CharacterCodingException {
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (text.indexOf('\uFFFD') < 0) {
            return text; // no replacement: every byte sequence was valid (a Latin-1 string answers without a scan)
        }
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
    }
}
