package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Parent-death signals (prctl PR_SET_PDEATHSIG, kind {@code dev.amber.kind.attr}) in a tree
 * root, middle, leaf (src/test/c/pdeathsig.c). Inside the tree the leaf's signal is relative to
 * its restored parent: it comes when middle dies. The root's parent was outside the tree; after
 * a restart it is amber restart: with --wait the signal is set again and comes if amber restart
 * ends first; without, amber restart ends at once, and the signal is not set again (a warning
 * says so) rather than sent as soon as the root runs.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class PdeathsigTest {
    private static final int SIGUSR1 = 10;

    @TempDir
    Path tmp;

    /** restart --wait: every signal as saved; the root's would come if amber restart ended first. */
    @Test
    void restartWait() throws Exception {
        try (Target t = Target.start(tmp, "pdeathsig")) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                t.checkpointKill(tmp.resolve("image"));
                t.restart(tmp.resolve("image"));
                Thread.sleep(500);   // amber restart's own threads have settled: none was the root's parent
            }
            CheckpointRestartTest.assertSame(pipesRenumbered(before), t, PdeathsigTest::pipesRenumbered);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            assertTrue(t.logLines().contains("root pdeathsig " + SIGUSR1), t.logText());
        }
    }

    /** restart without --wait: the root outlives amber restart, its signal not set again, and says so. */
    @Test
    void restartDetached() throws Exception {
        assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "pdeathsig")) {
            t.awaitReady();
            t.checkpointKill(tmp.resolve("image"));
            Amber.Result r = t.run("restart", "-D", tmp.resolve("image").toString());
            assertEquals(0, r.exit(), r.describe());
            assertEquals(List.of("amber: warning: pid " + t.pid + ": parent-death signal " + SIGUSR1 + " not set"
                    + " again: its parent was outside the tree, and amber restart, its parent now, ends at once, which"
                    + " would send it; restart with --wait to keep it (it then comes if amber restart --wait ends"
                    + " first)"), r.stderrLines());
            Thread.sleep(500);
            assertTrue(Procs.runsFree(t.pid), "pid " + t.pid + " after amber restart ended: state "
                    + Procs.state(t.pid) + "\n" + t.logText());
            t.sigterm();
            Procs.await(() -> lastLine(t).equals("PASS") || lastLine(t).startsWith("FAIL"), Duration.ofSeconds(30),
                    "pid " + t.pid + " to pass");
            assertTrue(t.logLines().contains("root pdeathsig 0"), t.logText());
            assertEquals("PASS", lastLine(t), t.logText());
        }
    }

    /** amber restart --wait killed: the root, its child now, gets its parent-death signal. */
    @Test
    void restartWaitKilled() throws Exception {
        assumeFalse(Amber.nocr(), "needs the engine");
        List<Long> others = new ArrayList<>();
        try (Target t = Target.start(tmp, "pdeathsig")) {
            try {
                t.awaitReady();
                t.checkpointKill(tmp.resolve("image"));
                t.restart(tmp.resolve("image"));
                long middle = children(t.pid).getFirst();
                others.add(middle);
                others.addAll(children(middle));
                t.restartRun().close();   // SIGKILL to amber restart --wait
                Procs.await(() -> !Procs.exists(t.pid) || Procs.state(t.pid) == 'Z', Duration.ofSeconds(10),
                        "pid " + t.pid + " to die of its parent-death signal");
                // A zombie's exit code (stat field 52) is its wait status: killed by SIGUSR1. Once reaped
                // (by whoever took it over), only the log shows that it never passed.
                String code = Procs.statField(t.pid, 52);
                if (code != null)
                    assertEquals(Integer.toString(SIGUSR1), code, "wait status of pid " + t.pid);
                assertTrue(t.logLines().stream().noneMatch(l -> l.equals("PASS") || l.startsWith("FAIL")), t.logText());
            } finally {
                for (long pid : others) {
                    if (t.binary.toString().equals(Procs.exe(pid)))
                        Procs.signal(pid, "KILL");
                }
            }
        }
    }

    /** The report pipe is made anew at restart: a pipe of another inode number. */
    private static ProcSnapshot pipesRenumbered(ProcSnapshot s) {
        java.util.Map<Integer, String> fds = new java.util.TreeMap<>();
        s.fds().forEach((fd, d) -> fds.put(fd, d.startsWith("pipe:[")
                ? d.replaceAll("pipe:\\[\\d+]", "pipe:[N]").replaceAll(" ino=\\d+", " ino=N") : d));
        return new ProcSnapshot(s.maps(), s.status(), fds);
    }

    private static String lastLine(Target t) {
        try {
            List<String> lines = t.logLines();
            return lines.isEmpty() ? "" : lines.getLast();
        } catch (IOException e) {
            return "";
        }
    }

    private static List<Long> children(long pid) throws IOException {
        String text = Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).strip();
        return text.isEmpty() ? List.of() : java.util.Arrays.stream(text.split(" ")).map(Long::parseLong).toList();
    }
}
