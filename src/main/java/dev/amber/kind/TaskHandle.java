package dev.amber.kind;

import dev.amber.trace.Injector;
import dev.amber.trace.Tracee;

/** One thread of a process Amber holds: seized, with an injector open on it. */
public record TaskHandle(Tracee tracee, Injector injector) {
    public int tid() {
        return tracee.tid();
    }
}
