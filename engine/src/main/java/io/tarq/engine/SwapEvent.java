package io.tarq.engine;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** A JDK Flight Recorder event for one {@link TarqEngine#swap} attempt: {@code jfr print --events io.tarq.Swap}. */
@Name("io.tarq.Swap")
@Label("tarq Swap")
@Category({"tarq"})
@Description("One model swap attempt: the versions, the file and the outcome")
final class SwapEvent extends Event {
    @Label("Path")
    String path;

    @Label("From version")
    long fromVersion;

    @Label("To version")
    @Description("The new version, or 0 when the swap was rejected")
    long toVersion;

    @Label("Accepted")
    boolean accepted;

    @Label("Failure")
    @Description("Why the new file was rejected (one line), else empty")
    String failure;
}
