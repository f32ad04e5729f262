package io.tarq.tools.jsonl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.tarq.engine.RequestLimits;
import java.io.IOException;
import java.io.StringReader;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Coverage-guided fuzzing of request input (Jazzer): any text, with limits the fuzzer also picks, through
 * {@link LineReader} and {@link RequestLineParser}. A line is either a request within the limits, which written back
 * compactly parses to the same request, or a {@link RequestFormatException} saying where; anything else thrown, and
 * any request over a limit, is a finding.
 *
 * <p>Without {@code JAZZER_FUZZ} this replays its inputs directory; the tools module's {@code fuzz} execution fuzzes
 * for {@code tarq.fuzz.duration}. docs/reliability.md has the longer run.
 */
class RequestParserFuzzTest {
    @DictionaryEntries({"{\"user\":", "\"history\":", "\"candidates\":", "[", "]", ",", "-", "9223372036854775807",
            "-9223372036854775808", "9223372036854775808", "1e3", "0.5", "\\x0D\\x0A"})
    @FuzzTest(maxDuration = "15s")
    void parseLines(FuzzedDataProvider data) throws IOException {
        RequestLimits limits = new RequestLimits(data.consumeInt(1, 64), data.consumeInt(0, 64), 64);
        int maxChars = data.consumeInt(1, 4096);
        String text = data.consumeRemainingAsString();
        LineReader lines = new LineReader(new StringReader(text), maxChars);
        RequestLineParser parser = new RequestLineParser(limits);
        while (true) {
            String line;
            try {
                line = lines.next();
            } catch (RequestFormatException tooLong) {
                assertTrue(tooLong.getMessage().contains("is longer than " + maxChars), tooLong.getMessage());
                return;
            }
            if (line == null) {
                return;
            }
            assertTrue(line.length() <= maxChars && line.indexOf('\n') < 0);
            RequestLine request;
            try {
                request = parser.parse(line);
            } catch (RequestFormatException bad) {
                assertTrue(bad.getMessage().contains(" at column "), bad.getMessage());
                assertEquals(1, bad.getMessage().lines().count(), bad.getMessage());
                continue;
            }
            assertTrue(request.candidates().length <= limits.maxCandidates());
            assertTrue(request.history().length <= limits.maxHistory());
            RequestLine again = parseCompact(parser, request);
            assertEquals(request.user(), again.user());
            assertArrayEquals(request.history(), again.history());
            assertArrayEquals(request.candidates(), again.candidates());
        }
    }

    private static RequestLine parseCompact(RequestLineParser parser, RequestLine r) {
        String line = "{\"user\":" + r.user() + ",\"history\":" + list(r.history()) + ",\"candidates\":" + list(r.candidates()) + "}";
        try {
            return parser.parse(line);
        } catch (RequestFormatException e) {
            throw new AssertionError("a request written back does not parse: " + line, e);
        }
    }

    private static String list(long[] ids) {
        return Arrays.stream(ids).mapToObj(Long::toString).collect(Collectors.joining(",", "[", "]"));
    }
}
