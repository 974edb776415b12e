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
 * A job on a terminal whose master a process outside the tree holds (tty_outside.c: the outer
 * process plays the terminal emulator): checkpoint, even with --kill, exits 3 with one refusal
 * naming the job's pid, fd 0 and the terminal, and offering --shell-job; the job runs on
 * untouched and PASSes.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TtyRefusalTest {
    @TempDir
    Path tmp;

    @Test
    void refuse_terminal_outside_tree() throws Exception {
        try (Target t = Target.start(tmp, "tty_outside")) {
            t.awaitReady();
            long inner = Long.parseLong(line(t, "INNER "));
            String pts = line(t, "PTS ");
            if (!Amber.nocr()) {
                ProcSnapshot before = ProcSnapshot.take(inner);
                Path image = tmp.resolve("image");
                Amber.Result r = t.run("checkpoint", Long.toString(inner), "-D", image.toString(), "--kill");
                assertEquals(3, r.exit(), r.describe());
                List<String> named = r.stderrLines().stream().filter(l -> l.startsWith("pid ")).toList();
                assertEquals(1, named.size(), "one refusal line (fd 1 and 2 share fd 0's open file)\n" + r.describe());
                String refusal = named.getFirst();
                assertTrue(refusal.startsWith("pid " + inner + " fd 0: terminal " + pts + ": "),
                        "refusal names pid, fd 0 and " + pts + ": " + refusal);
                assertTrue(refusal.contains("outside the tree") && refusal.contains("--shell-job"),
                        "refusal says why and offers --shell-job: " + refusal);
                assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left an image");
                Procs.await(() -> Procs.runsFree(inner), Duration.ofSeconds(5), "pid " + inner + " to run free");
                String diff = before.diff(ProcSnapshot.take(inner));
                assertEquals("", diff, "/proc of pid " + inner + " differs after the refusal:\n" + diff);
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    static String line(Target t, String prefix) throws Exception {
        String log = t.logText();
        return t.logLines().stream().filter(l -> l.startsWith(prefix)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + prefix + "line\n" + log)).substring(prefix.length());
    }
}
