package dev.amber.cli;

import dev.amber.checkpoint.Checkpointer;

/** A one-line progress meter on stderr, shown only on a terminal and only once work passes one second. */
final class Progress implements Checkpointer.Progress {
    private final long start = System.nanoTime();
    private final boolean terminal = System.console() != null && System.console().isTerminal();
    private long lastShown;
    private boolean shown;


    @Override
    public synchronized void update(String phase, long done, long total) {
        long now = System.nanoTime();
        if (!terminal || now - start < 1_000_000_000L || now - lastShown < 100_000_000L) {
            return;
        }
        lastShown = now;
        shown = true;
        System.err.printf("\r%s: %3d%% (%s of %s)   ", phase, total == 0 ? 100 : done * 100 / total,
                Units.bytes(done), Units.bytes(total));
    }

    void finish() {
        if (shown) {
            System.err.print("\r\033[K");
        }
    }
}
