package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGINT to {@code checkpoint --kill} in the middle of a long dump (1 GiB of touched memory):
 * the tool must undo everything, so the target runs on exactly as before and PASSes.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class InterruptTest {
    @TempDir
    Path tmp;

    @Test
    void checkpoint_interrupted() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: interrupted checkpoint (AMBER_TEST_NOCR=1)");
        try (Target t = Target.start(tmp, "mem_large", "1024")) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
            Amber.Running c = t.tool("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("image").toString(), "--kill");
            // The tool's JVM takes a while to start: interrupt once it holds the target, not before.
            Procs.await(() -> !c.isAlive() || !"0".equals(Procs.status(t.pid, "TracerPid")), Duration.ofSeconds(60),
                    "checkpoint to seize pid " + t.pid);
            if (!c.isAlive())
                throw new AssertionError("checkpoint ended before it seized pid " + t.pid + "\n" + c.result().describe());
            Thread.sleep(150);
            Assumptions.assumeTrue(c.isAlive(), "checkpoint finished before it could be interrupted");
            Procs.signal(c.pid(), "INT");
            Amber.Result r = c.await(Duration.ofSeconds(60));
            assertNotEquals(0, r.exit(), "interrupted checkpoint reported success\n" + r.describe());
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(10), "pid " + t.pid + " to run free again");
            CheckpointRestartTest.assertSame(before, t);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }
}
