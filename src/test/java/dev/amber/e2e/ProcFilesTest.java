package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Descriptors of procfs files (src/test/c/proc_files.c): files under /proc/PID of the process
 * itself and of its child, the /proc/self directory and /proc/meminfo come back naming the
 * restored processes, with their offsets and flags, both at the saved pids and, with
 * --new-pidns, in the new namespace's own /proc.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ProcFilesTest {
    @TempDir
    Path tmp;

    @Test
    void proc_files() throws Exception {
        try (Target t = Target.start(tmp, "proc_files")) {
            t.awaitReady();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /** The copy runs beside the original, in a new pid namespace: its /proc files name its own processes. */
    @Test
    void proc_files_in_a_new_pid_namespace() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "proc_files")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            Amber.Result c = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString());
            assertEquals(0, c.exit(), c.describe());
            try (Amber.Running copy = t.tool("restart", "-D", image.toString(), "--new-pidns", "--wait")) {
                Procs.await(() -> {
                    try {
                        return copy.stdoutSoFar().contains("outside its new pid namespace") || !copy.isAlive();
                    } catch (IOException e) {
                        return false;
                    }
                }, Duration.ofSeconds(60), "the copy to start");
                String out = copy.stdoutSoFar();
                assertTrue(out.contains("outside its new pid namespace"), out);
                long host = Long.parseLong(out.replaceAll("(?s).*\\(pid (\\d+) outside.*", "$1"));
                Procs.signal(host, "TERM");
                Amber.Result r = copy.await(Duration.ofSeconds(60));
                assertEquals(0, r.exit(), "the copy's status\n" + r.describe() + t.logText());
            }
            assertEquals(1, t.logLines().stream().filter("PASS"::equals).count(), "the copy passed\n" + t.logText());
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }
}
