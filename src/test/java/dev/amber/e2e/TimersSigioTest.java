package dev.amber.e2e;

import java.nio.file.Path;
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

    private void checkpointRestart(String name, String... args) throws Exception {
        CheckpointRestartTest.roundTrip(tmp, name, args);
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
