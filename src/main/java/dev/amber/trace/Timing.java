package dev.amber.trace;

/**
 * Phase timings of a checkpoint or restart, printed on stderr when the environment has
 * AMBER_TIMING set: for finding where the time goes, not for tests.
 */
public final class Timing {
    private static final boolean ON = System.getenv("AMBER_TIMING") != null;
    private final String what;
    private long last = System.nanoTime();

    public Timing(String what) {
        this.what = what;
    }

    public void mark(String phase) {
        long now = System.nanoTime();
        if (ON) {
            System.err.printf("amber: %s: %-24s %8.1f ms%n", what, phase, (now - last) / 1e6);
        }
        last = now;
    }
}
