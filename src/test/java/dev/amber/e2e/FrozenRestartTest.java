package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code restart --frozen}: the restored counter keeps its pid but stays stopped (state T, no
 * tracer) and does not count, until {@code kill -CONT}; then it counts on from where it was and
 * PASSes on SIGTERM (no gap, no repeat in counter.txt).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class FrozenRestartTest {
    @TempDir
    Path tmp;

    private static String stdout(Amber.Running r) {
        try {
            return r.stdoutSoFar();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void counter_restart_frozen() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: restart --frozen (AMBER_TEST_NOCR=1)");
        try (Target t = Target.start(tmp, "counter")) {
            t.awaitReady();
            CheckpointRestartTest.awaitCountAbove(t, 3);
            ProcSnapshot before = t.snapshot();
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            long atCheckpoint = CheckpointRestartTest.lastCount(t);

            Amber.Running restart = t.tool("restart", "-D", image.toString(), "--frozen", "--wait");
            Procs.await(() -> !restart.isAlive()
                    || (t.binary.toString().equals(Procs.exe(t.pid)) && Procs.state(t.pid) == 'T'
                            && "0".equals(Procs.status(t.pid, "TracerPid"))),
                    Target.TOOL_TIMEOUT, "pid " + t.pid + " restored and stopped (state " + Procs.state(t.pid) + ")");
            if (!restart.isAlive())
                throw new AssertionError("restart --frozen --wait exited while pid " + t.pid + " was stopped\n"
                        + restart.result().describe() + t.logText());
            // The tool prints its line once the process is released, which may be just after we saw it stopped.
            Procs.await(() -> stdout(restart).contains("; it is stopped: resume it with kill -CONT " + t.pid + "\n")
                    || !restart.isAlive(), Duration.ofSeconds(10), "restart's line on stdout");
            String line = "restarted pid " + t.pid + " from " + image + " in ";
            assertTrue(stdout(restart).startsWith(line)
                    && stdout(restart).endsWith("; it is stopped: resume it with kill -CONT " + t.pid + "\n"),
                    "restart's line on stdout: '" + stdout(restart) + "'\n--- stderr\n" + restart.stderrSoFar());

            // Stopped, and stays so: no counting for a second (a count every 50 ms when running).
            Thread.sleep(1000);
            assertEquals('T', Procs.state(t.pid), "state of pid " + t.pid + " a second after restart --frozen");
            assertEquals(atCheckpoint, CheckpointRestartTest.lastCount(t), "pid " + t.pid + " counted while frozen");
            assertTrue(restart.isAlive(), "restart --wait ended while its process is stopped\n" + restart.stderrSoFar());
            CheckpointRestartTest.assertSame(before, t, true);

            Procs.signal(t.pid, "CONT");
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run after SIGCONT");
            CheckpointRestartTest.awaitCountAbove(t, atCheckpoint);
            t.sigterm();
            Amber.Result r = restart.await(Duration.ofSeconds(30));
            t.assertPassed(r.exit());
            assertEquals("", r.stderr(), r.describe());
        }
    }
}
