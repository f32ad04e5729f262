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
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
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
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "score", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Score the requests of a JSONL file.",
                "Each input line: {\"user\": id, \"history\": [ids, oldest first], \"candidates\": [ids]}.",
                "Each output line: {\"scores\": [logits in candidate order]}, null for a skipped unknown candidate.",
                "Blank input lines are skipped; output line k answers the k-th request. The output file appears only "
                        + "when every request was scored; - writes to stdout as requests are scored (a failure then "
                        + "leaves the lines before it) and the summary goes to stderr.",
                "A request over a limit (--max-candidates, --max-history) stops the run with an error naming its line, "
                        + "before it is scored.",
                "Errors count lines and columns from 1 and positions in a request from 0, as the engine does: "
                        + "candidates[0] is a request's first candidate."})
final class ScoreCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "The model file (.safetensors).")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "REQUESTS.jsonl",
            description = "Requests, one JSON object a line; - reads stdin.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "SCORES.jsonl",
            description = "Where to write the scores; - writes to stdout.")
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

    @ParentCommand
    TarqCli cli;

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
        boolean toStdout = StandardStreams.isDash(output);
        Path target = toStdout ? null : output.toAbsolutePath();
        Path partial = toStdout ? null : target.resolveSibling("." + target.getFileName() + ".partial");
        if (!toStdout) {
            StandardStreams.prepareOutputFile(output);
        }
        String inputName = StandardStreams.inputName(input);
        int requests = 0;
        try (TarqModel tarq = TarqModel.open(model, itemVectorsOption.itemVectors(spec));
             BufferedReader reader = StandardStreams.reader(input, cli.stdin());
             Writer out = toStdout ? StandardStreams.stdout(spec.commandLine().getOut())
                     : Files.newBufferedWriter(partial, StandardCharsets.UTF_8)) {
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
                    throw new IOException(inputName + ": " + e.getMessage()); // names the line itself
                } catch (java.nio.charset.CharacterCodingException e) {
                    throw new IOException(inputName + ": line " + (in.lineNumber() + 1) + ": not valid UTF-8");
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
                    throw new IOException(inputName + ": line " + in.lineNumber() + ": " + e.getMessage());
                }
                long lineNumber = in.lineNumber();
                if (scores.length < request.candidates().length) {
                    scores = new float[request.candidates().length];
                }
                try {
                    scorer.score(scoring, request.user(), request.history(), request.candidates(), scores);
                } catch (UnknownCandidateException e) {
                    // The engine's message: the id and its position, candidates[i] counted from 0.
                    throw new IOException(inputName + ": line " + lineNumber + ": " + e.getMessage()
                            + " (pass --skip-unknown to score it as null)");
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
            if (partial != null) {
                Files.deleteIfExists(partial);
            }
            throw e;
        }
        if (!toStdout) {
            Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        // With the scores on stdout, the summary goes to stderr so that stdout stays JSONL.
        PrintWriter summary = toStdout ? spec.commandLine().getErr() : spec.commandLine().getOut();
        summary.printf("%s: %s requests scored (%s) into %s%n", inputName, Formats.count(requests),
                scoring.cliName(), StandardStreams.outputName(output));
        return TarqCli.EXIT_OK;
    }
}
