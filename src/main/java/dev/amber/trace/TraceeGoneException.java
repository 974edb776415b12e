package dev.amber.trace;

import java.io.IOException;

/** The task exited (or was killed) while Amber had it stopped. */
public final class TraceeGoneException extends IOException {
    public TraceeGoneException(int tid, String how) {
        super("pid " + tid + " " + how + " while amber held it");
    }
}
