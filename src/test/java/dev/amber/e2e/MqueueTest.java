package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

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
 * POSIX message queues (src/test/c/mqueue.c): queues with messages of several priorities, a
 * write-only non-blocking descriptor and a notification come back with attributes, mode, messages
 * in order and the notification ({@code checkpoint --kill}, {@code restart}, compare, PASS), both
 * when the queues outlived the process and when they are gone; a queue of the same name but
 * another shape fails the restart by name. The queues are removed afterwards whatever happened.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MqueueTest {
    @TempDir
    Path tmp;

    @Test
    void mqueue() throws Exception {
        roundTrip(false);
    }

    /** The queues are gone at restart (a reboot, say): made again from the image. */
    @Test
    void mqueueRemade() throws Exception {
        roundTrip(true);
    }

    /** A checkpoint that leaves the process running leaves its queues as they were (messages read and sent back). */
    @Test
    void mqueueLeftRunning() throws Exception {
        assumeFalse(Amber.nocr(), "needs the engine");
        long pid = 0;
        try (Target t = Target.start(tmp, "mqueue")) {
            pid = t.pid;
            t.awaitReady();
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("image").toString());
            assertEquals(0, r.exit(), r.describe());
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        } finally {
            if (pid != 0) {
                helper("unlink", pid);
            }
        }
    }

    /** A notification registered on a queue with messages: refused by name, the process left as it was. */
    @Test
    void mqueueNotifiedWithMessagesRefused() throws Exception {
        assumeFalse(Amber.nocr(), "needs the engine");
        long pid = 0;
        try (Target t = Target.start(tmp, "mqueue", "refuse")) {
            pid = t.pid;
            t.awaitReady();
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("image").toString(), "--kill");
            assertEquals(3, r.exit(), r.describe());
            assertEquals(List.of("pid " + pid + " fd 5: POSIX message queue /amber-mq-b-" + pid + ": 1 message(s) queued"
                    + " and pid " + pid + " registered for notification: saving the messages would fire it; not supported"),
                    r.stderrLines().stream().filter(l -> l.startsWith("pid ")).toList(), r.describe());
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        } finally {
            if (pid != 0) {
                helper("unlink", pid);
            }
        }
    }

    /** A queue of the same name but another shape: the restart fails with one line naming it. */
    @Test
    void mqueueClash() throws Exception {
        assumeFalse(Amber.nocr(), "needs the engine");
        long pid = 0;
        try (Target t = Target.start(tmp, "mqueue")) {
            pid = t.pid;
            t.awaitReady();
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            helper("clash", pid);
            Amber.Result r = Amber.run(Duration.ofSeconds(120), tmp, "restart", "-D", image.toString());
            assertEquals(1, r.exit(), r.describe());
            assertEquals("amber: restart from " + image + " failed: pid " + pid + " fd 3 POSIX message queue /amber-mq-a-"
                    + pid + ": a queue of that name exists already with maxmsg 2 and msgsize 128 (the image has 8 and 128):"
                    + " remove it (mq_unlink /amber-mq-a-" + pid + ") or stop the process that uses it",
                    r.stderr().strip(), r.describe());
            assertFalse(Procs.exists(pid), "pid " + pid + " left behind by a failed restart");
        } finally {
            if (pid != 0) {
                helper("unlink", pid);
            }
        }
    }

    private void roundTrip(boolean remove) throws Exception {
        long pid = 0;
        try (Target t = Target.start(tmp, "mqueue")) {
            pid = t.pid;
            t.awaitReady();
            ProcSnapshot before = masked(t.snapshot());
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                if (remove) {
                    helper("unlink", pid);
                }
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(before, t, MqueueTest::masked);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        } finally {
            if (pid != 0) {
                helper("unlink", pid);
            }
        }
    }

    /** The target program removes (or replaces) the queues of target {@code pid} when asked. */
    private void helper(String what, long pid) throws Exception {
        try (Target u = Target.start(tmp.resolve(what + "-" + System.nanoTime()), "mqueue", what, Long.toString(pid))) {
            assertEquals(0, u.awaitExit(Duration.ofSeconds(10)), "mqueue " + what + " " + pid);
        }
    }

    /** A queue made again is a new inode of the mqueue file system: its number is masked. */
    private static ProcSnapshot masked(ProcSnapshot s) {
        Map<Integer, String> fds = new TreeMap<>();
        s.fds().forEach((fd, d) -> fds.put(fd, d.startsWith("/amber-mq-") ? d.replaceAll(" ino=\\d+", " ino=<mq-ino>") : d));
        return new ProcSnapshot(s.maps(), s.status(), fds);
    }
}
