package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restart that fails half-way (after the puppet took the PID) leaves nothing behind: the
 * process it was building is killed and reaped, one line says why, and the image still works
 * once the cause is gone.
 */
class RestartFailureTest {
    @TempDir
    Path tmp;

    @Test
    void failureWhileRestoringKillsTheHalfBuiltProcess() throws Exception {
        assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "files")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            t.checkpointKill(image);

            // rw.bin is open O_RDWR: a directory in its place passes the up-front check (the path
            // exists) but cannot be opened for writing, so the restore fails in the middle.
            Path rw = t.dir.resolve("cwd").resolve("sub").resolve("rw.bin");
            Path saved = tmp.resolve("rw.bin.saved");
            Files.move(rw, saved);
            Files.createDirectory(rw);
            Amber.Running run = Amber.start(tmp, "restart", "-D", image.toString());
            boolean sawPid = false;
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (run.isAlive() && System.nanoTime() < deadline) {
                sawPid |= Procs.exists(t.pid);
                Thread.sleep(1);
            }
            Amber.Result r = run.await(Duration.ofSeconds(5));
            assertEquals(1, r.exit(), r.describe());
            String[] lines = r.stderr().strip().split("\n");
            assertEquals(1, lines.length, r.describe());
            assertTrue(lines[0].contains("fd ") && lines[0].contains("rw.bin") && lines[0].contains("EISDIR"),
                    r.describe());
            assertFalse(Procs.exists(t.pid), "pid " + t.pid + " left behind by a failed restart (seen during it: "
                    + sawPid + ")");

            Files.delete(rw);
            Files.move(saved, rw);
            t.restart(image);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }
}
