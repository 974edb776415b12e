package dev.amber.checkpoint;

import java.io.IOException;

/**
 * Lets Ctrl-C stop a checkpoint safely: the signal's shutdown hook asks for cancellation and
 * waits; the checkpoint notices at its next step, puts the process back as it was, and says done.
 */
public final class Cancellation {
    private volatile boolean requested;

    public void request() {
        requested = true;
    }

    public void check() throws IOException {
        if (requested) {
            throw new IOException("interrupted: the process was released as it was and no image was written");
        }
    }
}
