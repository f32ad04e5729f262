package io.tarq.tools.jsonl;

/** One scoring request of a JSONL file: {@code {"user": id, "history": [ids], "candidates": [ids]}}. */
public record RequestLine(long user, long[] history, long[] candidates) {
}
