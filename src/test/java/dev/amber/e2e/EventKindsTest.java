package dev.amber.e2e;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint/restart of the event descriptor kinds (kind.eventfd, kind.signalfd), one target
 * program each, with {@link CheckpointRestartTest}'s flow: READY, snapshot /proc,
 * {@code checkpoint --kill}, {@code restart --wait}, compare, SIGTERM, expect PASS.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class EventKindsTest {
    @TempDir
    Path tmp;

    private void checkpointRestart(String name, String... args) throws Exception {
        CheckpointRestartTest.roundTrip(tmp, name, args);
    }

    @Test
    void eventfd() throws Exception {
        checkpointRestart("eventfd");
    }

    @Test
    void signalfd() throws Exception {
        checkpointRestart("signalfd");
    }
}
