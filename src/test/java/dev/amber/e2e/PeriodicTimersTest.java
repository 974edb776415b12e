package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Periodic timers keep their period across a checkpoint (src/test/c/periodic_timers.c):
 * ITIMER_REAL, POSIX timers on a real-time and on a standard signal, a timerfd, every 50 ms.
 * Each is restarted from an image taken with --kill and from one taken with the original left
 * running (killed afterwards, as one does before restarting elsewhere); and with the timers'
 * signals blocked, so the checkpoint finds every timer expired and waiting for its signal to be
 * dequeued (the state in which a restored ITIMER_REAL used to stop for good).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class PeriodicTimersTest {
    @TempDir
    Path tmp;

    private void restarted(boolean kill, String... args) throws Exception {
        try (Target t = Target.start(tmp, "periodic_timers", args)) {
            t.awaitReady();
            Thread.sleep(300);   // several periods: the checkpoint lands anywhere in one
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                if (kill)
                    t.checkpointKill(image);
                else
                    t.checkpointThenKill(image, Duration.ofMillis(300));
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(before, t);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    @Test
    void killed() throws Exception {
        restarted(true);
    }

    @Test
    void leftRunning() throws Exception {
        restarted(false);
    }

    @Test
    void blockedKilled() throws Exception {
        restarted(true, "blocked");
    }

    @Test
    void blockedLeftRunning() throws Exception {
        restarted(false, "blocked");
    }

    /** The original, checkpointed and left running, keeps every period itself. */
    @Test
    void originalRunsOn() throws Exception {
        assumeFalse(Amber.nocr(), "needs the engine: checkpoint without --kill");
        for (String mode : new String[] {"caught", "blocked"}) {
            try (Target t = Target.start(tmp.resolve(mode), "periodic_timers", mode)) {
                t.awaitReady();
                Thread.sleep(300);
                Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve(mode + "-image").toString());
                assertEquals(0, r.exit(), r.describe());
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            }
        }
    }
}
