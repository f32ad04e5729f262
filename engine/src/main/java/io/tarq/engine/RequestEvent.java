package io.tarq.engine;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.EventType;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * A JDK Flight Recorder event for one request a scorer served: {@code jfr print --events io.tarq.Request}. It is
 * recorded only while a recording runs (enabled by default in any recording, like every custom event; a settings
 * file can set its threshold or disable it). With no recording a request reads one flag ({@link #TYPE}) and
 * allocates nothing.
 */
@Name("io.tarq.Request")
@Label("tarq Request")
@Category({"tarq"})
@Description("One request a Scorer served: the mode, its size, and whether it failed")
@StackTrace(false)
final class RequestEvent extends Event {
    static final EventType TYPE = EventType.getEventType(RequestEvent.class);

    @Label("Operation")
    @Description("score, scoreRows, topK or rescoreTopK")
    String operation;

    @Label("Mode")
    String mode;

    @Label("Candidates")
    int candidates;

    @Label("Behaviours")
    @Description("Behaviour ids in the request, before unknown ones are dropped and n_max is applied")
    int behaviours;

    @Label("k")
    @Description("The top-k size (0 for score requests)")
    int k;

    @Label("Failure")
    @Description("The exception's class when the request failed, else empty")
    String failure;

    /**
     * Registers the event type with the Flight Recorder (once per JVM, some hundred milliseconds): called when a model
     * opens, so that the first request does not pay it.
     */
    static void register() {
        // Class initialization, which sets TYPE, is the registration.
    }

    /** A begun event when a recording wants it, else null (and no allocation). */
    static RequestEvent beginIfEnabled() {
        if (!TYPE.isEnabled()) {
            return null;
        }
        RequestEvent event = new RequestEvent();
        event.begin();
        return event;
    }

    void finish(String op, Mode m, int candidateCount, int behaviourCount, int topK, RuntimeException error) {
        end();
        if (shouldCommit()) {
            operation = op;
            mode = m == null ? "" : m.name();
            candidates = candidateCount;
            behaviours = behaviourCount;
            k = topK;
            failure = error == null ? "" : error.getClass().getName();
            commit();
        }
    }
}
