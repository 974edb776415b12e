package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * pidfds (kind.pidfd): of the process itself, a child, a thread, and children that are gone;
 * src/test/c/pidfd.c checks every one after the restart. A pidfd's inode is the kernel's and
 * differs after a restart, so /proc is not compared here; the target compares what it can see.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PidfdTest {
    @TempDir
    Path tmp;

    @Test
    void pidfd() throws Exception {
        try (Target t = Target.start(tmp, "pidfd")) {
            t.awaitReady();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /** A pidfd of a process outside the tree is refused, naming it; the target runs on. */
    @Test
    void pidfd_outside_refused() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: refusal (AMBER_TEST_NOCR=1)");
        try (Target t = Target.start(tmp, "pidfd", "outside")) {
            t.awaitReady();
            String fd = t.logLines().stream().filter(l -> l.startsWith("FD ")).findFirst().orElseThrow().substring(3);
            Path image = tmp.resolve("image");
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
            assertEquals(3, r.exit(), r.describe());
            long parent = ProcessHandle.current().pid();
            assertEquals("pid " + t.pid + " fd " + fd + ": pidfd: of pid " + parent + " (java), which is outside the"
                    + " tree: a restart could not tell that a process with that pid is the same one; checkpoint a tree"
                    + " that holds it, or close the descriptor", r.stderrLines().getFirst(), r.describe());
            assertFalse(Files.exists(image.resolve("inventory.pb")));
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }
}
