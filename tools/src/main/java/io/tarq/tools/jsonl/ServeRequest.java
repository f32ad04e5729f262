package io.tarq.tools.jsonl;

import io.tarq.engine.Mode;

/**
 * One request of an HTTP body: a {@code ./tarq score} request line plus how to score it. {@code k} and
 * {@code rescore} are −1 when absent; {@code rescore} ≥ 0 asks for the TARQ → TA cascade.
 */
public record ServeRequest(long user, long[] history, long[] candidates, Mode mode, int k, int rescore, boolean skipUnknown) {
    public static final int ABSENT = -1;

    public boolean cascade() {
        return rescore != ABSENT;
    }

    /** The metric label: the mode's command-line name, or "cascade". */
    public String label() {
        return cascade() ? "cascade" : mode.cliName();
    }
}
