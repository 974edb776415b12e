package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process with a child (refuse_tree.c): checkpoint, even with --kill, exits 3 with the one
 * refusal {@code pid N child M: process tree: ...}, writes no image, and leaves parent and child
 * running exactly as they were; the parent then checks its child, ends it and PASSes.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TreeRefusalTest {
    @TempDir
    Path tmp;

    @Test
    void refuse_tree_child() throws Exception {
        try (Target t = Target.start(tmp, "refuse_tree")) {
            long child = -1;
            try {
                t.awaitReady();
                String log = t.logText();
                child = Long.parseLong(t.logLines().stream().filter(l -> l.startsWith("CHILD ")).findFirst()
                        .orElseThrow(() -> new AssertionError("no CHILD line\n" + log)).substring(6));
                assertEquals(Long.toString(t.pid), Procs.statField(child, 4), "ppid of child " + child);
                if (!Amber.nocr())
                    refused(t, child);
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
                long reaped = child;
                Procs.await(() -> !Procs.exists(reaped), Duration.ofSeconds(5), "child " + child + " to be gone");
            } finally {
                // The child dies with its parent (PR_SET_PDEATHSIG); kill it by pid in case it did not.
                if (child > 0 && t.binary.toString().equals(Procs.exe(child))) {
                    try {
                        Procs.signal(child, "KILL");
                    } catch (AssertionError e) {
                        // gone meanwhile
                    }
                }
            }
        }
    }

    private static void refused(Target t, long child) throws Exception {
        ProcSnapshot parentBefore = t.snapshot();
        ProcSnapshot childBefore = ProcSnapshot.take(child);
        String parentStart = Procs.statField(t.pid, 22);
        String childStart = Procs.statField(child, 22);
        Path image = t.dir.resolve("image");

        Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
        assertEquals(3, r.exit(), r.describe());
        String prefix = "pid " + t.pid + " child " + child + ": process tree: ";
        List<String> named = r.stderrLines().stream().filter(l -> l.startsWith("pid ")).toList();
        assertEquals(1, named.size(), "one refusal line\n" + r.describe());
        assertTrue(named.getFirst().startsWith(prefix) && named.getFirst().length() > prefix.length(),
                "refusal line starting '" + prefix + "' with a reason\n" + r.describe());
        assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left " + image.resolve("inventory.pb"));

        Procs.await(() -> Procs.runsFree(t.pid) && Procs.runsFree(child), Duration.ofSeconds(5),
                "pid " + t.pid + " and child " + child + " to run free");
        assertEquals(parentStart, Procs.statField(t.pid, 22), "pid " + t.pid + " is no longer the original process");
        assertEquals(childStart, Procs.statField(child, 22), "pid " + child + " is no longer the original child");
        assertEquals(Long.toString(t.pid), Procs.statField(child, 4), "ppid of child " + child);
        CheckpointRestartTest.assertSame(parentBefore, t);
        String diff = childBefore.diff(ProcSnapshot.take(child));
        assertEquals("", diff, "/proc of child " + child + " differs after the refusal:\n" + diff);
    }
}
