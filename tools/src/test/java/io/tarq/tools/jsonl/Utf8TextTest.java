package io.tarq.tools.jsonl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Utf8TextTest {
    private static String strict(byte[] bytes) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
    }

    @Test
    void validTextDecodesAsTheStrictDecoderDecodesIt() throws CharacterCodingException {
        for (String s : new String[] {"", "{\"user\": 1, \"candidates\": [1, 2]}", "ids é ü 中文 😀", "a literal \uFFFD stays"}) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            assertEquals(strict(bytes), Utf8Text.decode(bytes));
            assertEquals(s, Utf8Text.decode(bytes));
        }
    }

    @Test
    void malformedBytesAreRefused() {
        byte[][] malformed = {
            {'{', (byte) 0xff, '}'},                 // never valid
            {(byte) 0xc0, (byte) 0xaf},              // overlong '/'
            {(byte) 0xe2, (byte) 0x82},              // truncated sequence
            {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, // a UTF-16 surrogate
            {'a', (byte) 0x80},                      // a lone continuation byte
        };
        for (byte[] bytes : malformed) {
            assertThrows(CharacterCodingException.class, () -> Utf8Text.decode(bytes));
        }
    }

    /** Random bytes, mostly invalid: accepted exactly when the strict decoder accepts them, with its text. */
    @Test
    void randomBytesAgreeWithTheStrictDecoder() throws CharacterCodingException {
        SplittableRandom random = new SplittableRandom(3);
        for (int trial = 0; trial < 20_000; trial++) {
            byte[] bytes = new byte[random.nextInt(12)];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) (random.nextBoolean() ? random.nextInt(0x80) : random.nextInt(256));
            }
            String want;
            try {
                want = strict(bytes);
            } catch (CharacterCodingException e) {
                assertThrows(CharacterCodingException.class, () -> Utf8Text.decode(bytes));
                continue;
            }
            assertEquals(want, Utf8Text.decode(bytes));
        }
    }
}
