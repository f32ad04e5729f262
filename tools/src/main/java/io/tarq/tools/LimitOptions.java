package io.tarq.tools;

import io.tarq.engine.RequestLimits;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** The request limits as command-line flags, for every command that reads or makes requests. */
final class LimitOptions {
    @Option(names = "--max-candidates", paramLabel = "M", defaultValue = "" + RequestLimits.DEFAULT_MAX_CANDIDATES,
            description = "Refuse a request with more candidates than this (default: ${DEFAULT-VALUE}).")
    int maxCandidates;

    @Option(names = "--max-history", paramLabel = "n", defaultValue = "" + RequestLimits.DEFAULT_MAX_HISTORY,
            description = "Refuse a request with more behaviour ids than this; up to it, the newest n_max known ones are used "
                    + "(default: ${DEFAULT-VALUE}).")
    int maxHistory;

    /** The limits, or a usage error naming the flag. k is limited as M: these commands ask for no top-k. */
    RequestLimits limits(CommandSpec spec) {
        if (maxCandidates < 1) {
            throw new ParameterException(spec.commandLine(), "--max-candidates must be at least 1, not " + maxCandidates);
        }
        if (maxHistory < 0) {
            throw new ParameterException(spec.commandLine(), "--max-history must be at least 0, not " + maxHistory);
        }
        return new RequestLimits(maxCandidates, maxHistory, maxCandidates);
    }
}
