package io.tarq.jmh;

import io.tarq.engine.RequestLimits;
import io.tarq.tools.jsonl.RequestFormatException;
import io.tarq.tools.jsonl.ServeRequestParser;
import io.tarq.tools.jsonl.Utf8Text;
import io.tarq.tools.serve.ScoreAnswer;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What {@code ./tarq serve} spends on a {@code /v1/score} body besides scoring it: decoding the body's bytes, parsing
 * the request, and writing the answer as JSON text or as binary logits, at the request sizes of the latency table.
 *
 * <pre>./tarq jmh ServeBodyBenchmark</pre>
 *
 * The body is a request of n = 50 behaviours and M candidates with ids of a 1M catalog's magnitude (up to seven
 * digits); the logits are random floats of a model's range, so {@code Float.toString} writes 8 to 10 digits each.
 * {@link #decodeStrict} is a strict {@code CharsetDecoder}, how the server decoded before {@link Utf8Text}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public class ServeBodyBenchmark {
    @Param({"1000", "5000"})
    public int candidates;

    private byte[] body;
    private String text;
    private ServeRequestParser parser;
    private float[] scores;
    private StringBuilder answer;
    private ByteBuffer binary;

    @Setup
    public void setUp() throws CharacterCodingException {
        SplittableRandom random = new SplittableRandom(7);
        StringBuilder s = new StringBuilder().append("{\"user\":").append(random.nextInt(1_000_000)).append(",\"history\":[");
        for (int i = 0; i < 50; i++) {
            s.append(i == 0 ? "" : ",").append(random.nextInt(1_000_000));
        }
        s.append("],\"candidates\":[");
        for (int i = 0; i < candidates; i++) {
            s.append(i == 0 ? "" : ",").append(random.nextInt(1_000_000));
        }
        body = s.append("],\"skip_unknown\":true,\"mode\":\"tt\"}").toString().getBytes(StandardCharsets.UTF_8);
        text = Utf8Text.decode(body);
        parser = new ServeRequestParser(RequestLimits.DEFAULT, 64);
        scores = new float[candidates];
        for (int i = 0; i < candidates; i++) {
            scores[i] = (float) (random.nextGaussian() * 4 - 2);
        }
        answer = new StringBuilder(16 * candidates);
        binary = ByteBuffer.allocate(4 * candidates);
    }

    @Benchmark
    public String decodeStrict() throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(body)).toString();
    }

    @Benchmark
    public String decode() throws CharacterCodingException {
        return Utf8Text.decode(body);
    }

    @Benchmark
    public ServeRequestParser.Body parse() throws RequestFormatException {
        return parser.parse(text);
    }

    /** The answer's JSON text and its UTF-8 bytes, as the server sends them. */
    @Benchmark
    public byte[] answerJson() {
        answer.setLength(0);
        answer.append("{\"scores\":[");
        ScoreAnswer.appendScores(answer, scores, candidates);
        return answer.append("],\"version\":1}\n").toString().getBytes(StandardCharsets.UTF_8);
    }

    @Benchmark
    public ByteBuffer answerBinary() {
        binary.clear();
        ScoreAnswer.putScores(binary, scores, candidates);
        return binary;
    }
}
