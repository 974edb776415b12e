package dev.amber.e2e;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pseudo-terminals (kind.tty), with {@link CheckpointRestartTest}'s flow: READY, snapshot /proc,
 * {@code checkpoint --kill}, {@code restart --wait}, compare, SIGTERM, expect PASS.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TtyTest {
    @TempDir
    Path tmp;

    /** A pair with termios, window size, packet and exclusive mode and data queued both ways (pty.c). */
    @Test
    void pty() throws Exception {
        CheckpointRestartTest.roundTrip(tmp, "pty");
    }

    /** A session leader whose controlling terminal is its pty, its group in the foreground (pty_ctty.c). */
    @Test
    void pty_controlling_terminal() throws Exception {
        CheckpointRestartTest.roundTrip(tmp, "pty_ctty");
    }

    /**
     * A session as a terminal emulator makes one (pty_session.c): the root holds the master, its
     * child leads the session on the slave, a grandchild is the foreground job; ^C typed on the
     * master reaches the job, which still has the terminal as its controlling terminal.
     */
    @Test
    void pty_session() throws Exception {
        CheckpointRestartTest.roundTrip(tmp, "pty_session");
    }

    /**
     * Checkpoint without --kill: the queued data was read out and written back, so the process
     * that goes on running reads exactly what it would have.
     */
    @Test
    void pty_keeps_running() throws Exception {
        try (Target t = Target.start(tmp, "pty")) {
            t.awaitReady();
            if (!Amber.nocr()) {
                Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("image").toString());
                org.junit.jupiter.api.Assertions.assertEquals(0, r.exit(), r.describe() + t.logText());
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(java.time.Duration.ofSeconds(60)));
        }
    }
}
