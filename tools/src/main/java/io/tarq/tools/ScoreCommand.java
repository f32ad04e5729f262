package io.tarq.tools;

import io.tarq.engine.Mode;
import io.tarq.engine.RequestLimits;
import io.tarq.engine.Scorer;
import io.tarq.engine.TarqModel;
import io.tarq.engine.UnknownCandidateException;
import io.tarq.tools.jsonl.LineReader;
import io.tarq.tools.jsonl.RequestFormatException;
import io.tarq.tools.jsonl.RequestLine;
import io.tarq.tools.jsonl.RequestLineParser;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "score", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Score the requests of a JSONL file.",
                "Each input line: {\"user\": id, \"history\": [ids, oldest first], \"candidates\": [ids]}.",
                "Each output line: {\"scores\": [logits in candidate order]}, null for a skipped unknown candidate.",
                "Blank input lines are skipped; output line k answers the k-th request. The output file appears only "
                        + "when every request was scored.",
                "A request over a limit (--max-candidates, --max-history) stops the run with an error naming its line, "
                        + "before it is scored."})
final class ScoreCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "The model file (.safetensors).")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "REQUESTS.jsonl", description = "Requests, one JSON object a line.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "SCORES.jsonl", description = "Where to write the scores.")
    Path output;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "tarq",
            description = "tt, tarq (uint8 tables), tarq-f32 (float tables) or ta (exact target attention) (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--skip-unknown", description = "Score unknown candidate ids as null instead of failing (default: ${DEFAULT-VALUE}).")
    boolean skipUnknown;

    @Mixin
    LimitOptions limitOptions;

    @Mixin
    ItemVectorsOption itemVectorsOption;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Mode scoring;
        try {
            scoring = Mode.fromCliName(mode);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--mode " + e.getMessage());
        }
        RequestLimits limits = limitOptions.limits(spec);
        Path absolute = output.toAbsolutePath();
        Path partial = absolute.resolveSibling("." + absolute.getFileName() + ".partial");
        int requests = 0;
        try (TarqModel tarq = TarqModel.open(model, itemVectorsOption.itemVectors(spec));
             var reader = Files.newBufferedReader(input, StandardCharsets.UTF_8);
             BufferedWriter out = Files.newBufferedWriter(partial, StandardCharsets.UTF_8)) {
            Scorer scorer = tarq.newScorer().skipUnknownCandidates(skipUnknown).limits(limits);
            LineReader in = new LineReader(reader, LineReader.maxChars(limits));
            RequestLineParser parser = new RequestLineParser(limits);
            StringBuilder json = new StringBuilder();
            float[] scores = new float[0];
            while (true) {
                String line;
                try {
                    line = in.next();
                } catch (RequestFormatException e) {
                    throw new IOException(input + ": " + e.getMessage()); // names the line itself
                } catch (java.nio.charset.CharacterCodingException e) {
                    throw new IOException(input + ": line " + (in.lineNumber() + 1) + ": not valid UTF-8");
                }
                if (line == null) {
                    break;
                }
                if (line.isBlank()) {
                    continue;
                }
                RequestLine request;
                try {
                    request = parser.parse(line);
                } catch (RequestFormatException e) {
                    throw new IOException(input + ": line " + in.lineNumber() + ": " + e.getMessage());
                }
                long lineNumber = in.lineNumber();
                if (scores.length < request.candidates().length) {
                    scores = new float[request.candidates().length];
                }
                try {
                    scorer.score(scoring, request.user(), request.history(), request.candidates(), scores);
                } catch (UnknownCandidateException e) {
                    throw new IOException(input + ": line " + lineNumber + ": candidate id " + e.id()
                            + " is not in the catalog (pass --skip-unknown to score it as null)");
                }
                json.setLength(0);
                json.append("{\"scores\":[");
                for (int i = 0; i < request.candidates().length; i++) {
                    if (i > 0) {
                        json.append(',');
                    }
                    float s = scores[i];
                    // JSON has no NaN or infinity; NaN is how the engine marks a skipped candidate.
                    json.append(Float.isFinite(s) ? Float.toString(s) : "null");
                }
                out.append(json).append("]}\n");
                requests++;
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(partial);
            throw e;
        }
        Files.move(partial, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        spec.commandLine().getOut().printf("%s: %s requests scored (%s) into %s%n", input, Formats.count(requests),
                scoring.cliName(), output);
        return TarqCli.EXIT_OK;
    }
}
