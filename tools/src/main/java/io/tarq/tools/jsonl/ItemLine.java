package io.tarq.tools.jsonl;

/** One catalog item of a JSONL file: {@code {"id": id, "attributes": [external attribute ids]}}. */
public record ItemLine(long id, long[] attributes) {
}
