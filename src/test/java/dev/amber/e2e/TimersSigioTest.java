package dev.amber.e2e;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * POSIX timers (kind {@code dev.amber.kind.timer}) and signal-driven I/O settings of descriptors
 * (the descriptor table, {@code dev.amber.kind.file.FileKind}): each target sets them up, is
 * checkpointed with --kill and restarted, and verifies itself (src/test/c/posix_timers.c,
 * sigio.c).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TimersSigioTest {
    @TempDir
    Path tmp;

    /** CheckpointRestartTest's flow: READY, snapshot, checkpoint --kill, restart, compare, SIGTERM, PASS. */
    private void checkpointRestart(String name) throws Exception {
        try (Target t = Target.start(tmp, name)) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(before, t, false);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    @Test
    void posix_timers() throws Exception {
        checkpointRestart("posix_timers");
    }

    @Test
    void sigio() throws Exception {
        checkpointRestart("sigio");
    }
}
