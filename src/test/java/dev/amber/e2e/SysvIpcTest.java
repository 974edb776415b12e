package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SysV IPC (src/test/c/sysv_ipc.c): shared memory attached at a fixed address and read-only,
 * a segment pending removal, a semaphore set and a message queue, shared with a child, come back at their ids with
 * their contents ({@code checkpoint --kill}, {@code restart}, compare, PASS), both when the
 * objects outlived the process (as they do) and when they are gone; an object of another shape
 * at a saved id fails the restart by id and key. Every object is removed afterwards.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SysvIpcTest {
    @TempDir
    Path tmp;

    @Test
    void sysvIpc() throws Exception {
        roundTrip(false);
    }

    /** The objects are gone at restart (a reboot, say): made again at the same ids. */
    @Test
    void sysvIpcRemade() throws Exception {
        roundTrip(true);
    }

    /** A checkpoint that leaves the process running changes none of its objects, and warns of the child's SEM_UNDO. */
    @Test
    void sysvIpcLeftRunning() throws Exception {
        assumeFalse(Amber.nocr(), "needs the engine");
        long pid = 0;
        String shmb = "-1";
        try (Target t = Target.start(tmp, "sysv_ipc")) {
            pid = t.pid;
            t.awaitReady();
            shmb = logged(t, "SHMB");
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("image").toString());
            assertEquals(0, r.exit(), r.describe());
            String child = logged(t, "CHILD");
            assertEquals(List.of("amber: warning: pid " + child + ": it has used semop with SEM_UNDO: its semaphore"
                    + " adjustments cannot be read nor saved, so the restarted process will not undo them when it exits"),
                    r.stderrLines().stream().filter(l -> l.startsWith("amber: warning:")).toList(), r.describe());
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        } finally {
            if (pid != 0) {
                killChild();
                helper("rm", pid, shmb);
            }
        }
    }

    @Test
    void sysvIpcClash() throws Exception {
        assumeFalse(Amber.nocr(), "needs the engine");
        long pid = 0;
        String shmb = "-1";
        try (Target t = Target.start(tmp, "sysv_ipc")) {
            pid = t.pid;
            t.awaitReady();
            shmb = logged(t, "SHMB");
            String semid = logged(t, "SEMID");
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            helper("clash", pid, semid);
            Amber.Result r = Amber.run(Duration.ofSeconds(120), tmp, "restart", "-D", image.toString());
            assertEquals(1, r.exit(), r.describe());
            assertEquals("amber: restart from " + image + " failed: pid " + pid + ": SysV semaphore set id " + semid
                    + " (key 0x" + Long.toHexString(0x42000000L + pid) + ") exists already as another semaphore set"
                    + " (key 0x" + Long.toHexString(0x42000000L + pid) + ", mode 0600, 2 semaphores; the image has mode"
                    + " 0600, 4 semaphores): remove it (ipcrm -s " + semid + ") or stop the processes that use it",
                    r.stderr().strip(), r.describe());
            assertFalse(Procs.exists(pid), "pid " + pid + " left behind by a failed restart");
        } finally {
            if (pid != 0) {
                killChild();
                helper("rm", pid, shmb);
            }
        }
    }

    private void roundTrip(boolean remove) throws Exception {
        long pid = 0;
        String shmb = "-1";
        try (Target t = Target.start(tmp, "sysv_ipc")) {
            pid = t.pid;
            t.awaitReady();
            shmb = logged(t, "SHMB");
            ProcSnapshot before = masked(t.snapshot());
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                if (remove) {
                    helper("rm", pid, shmb);
                }
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(before, t, SysvIpcTest::masked);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        } finally {
            if (pid != 0) {
                killChild();
                helper("rm", pid, shmb);
            }
        }
    }

    /** The target's child, if a failure left it running (closing the target kills the root only). */
    private void killChild() throws Exception {
        Path log = tmp.resolve("sysv_ipc.log");
        if (!Files.exists(log)) {
            return;
        }
        for (String l : Files.readAllLines(log)) {
            if (l.startsWith("CHILD ")) {
                ProcessHandle.of(Long.parseLong(l.substring(6))).filter(h -> h.info().command().orElse("")
                        .endsWith("/sysv_ipc")).ifPresent(h -> {
                            h.destroyForcibly();
                            h.onExit().join();
                        });
            }
        }
    }

    /** A pipe made again is a new inode: its number is masked. */
    private static ProcSnapshot masked(ProcSnapshot s) {
        Map<Integer, String> fds = new TreeMap<>();
        s.fds().forEach((fd, d) -> fds.put(fd, d.startsWith("pipe:")
                ? d.replaceAll("pipe:\\[\\d+\\]", "pipe:[<ino>]").replaceAll(" ino=\\d+", " ino=<ino>") : d));
        return new ProcSnapshot(s.maps(), s.status(), fds);
    }

    private static String logged(Target t, String label) throws Exception {
        return t.logLines().stream().filter(l -> l.startsWith(label + " ")).findFirst().orElseThrow()
                .substring(label.length() + 1);
    }

    /** The target program removes (or replaces) the objects of target {@code pid} when asked. */
    private void helper(String what, long pid, String arg) throws Exception {
        try (Target u = Target.start(tmp.resolve(what + "-" + System.nanoTime()), "sysv_ipc", what, Long.toString(pid),
                arg)) {
            assertEquals(0, u.awaitExit(Duration.ofSeconds(10)), "sysv_ipc " + what + " " + pid);
        }
    }
}
