package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * inotify (src/test/c/inotify.c): watches with a gap in their wds and events queued come back
 * with the same wds, masks and paths ({@code checkpoint --kill}, {@code restart}, compare, PASS);
 * a watched directory that is gone at restart fails it with one line naming the path.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class InotifyTest {
    @TempDir
    Path tmp;

    @Test
    void inotify() throws Exception {
        CheckpointRestartTest.roundTrip(tmp, "inotify");
    }

    /**
     * fanotify (src/test/c/fanotify.c): inode, mount (with an ignore mask) and file system marks of a
     * group a child shares, checkpointed leaving it running, then with --kill and restarted.
     */
    @Test
    void fanotify() throws Exception {
        CheckpointRestartTest.leftRunningThenRestarted(tmp, "fanotify");
    }

    /** A watch on a deleted, still open file (inotify_deleted.c), under an epoll made before both. */
    @Test
    void watchOnADeletedFile() throws Exception {
        try (Target t = Target.start(tmp, "inotify_deleted")) {   // the file and its watch get a new inode: no snapshot
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

    @Test
    void queuedEventsWarned() throws Exception {
        assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "inotify")) {
            t.awaitReady();
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("image").toString());
            assertEquals(0, r.exit(), r.describe());
            assertTrue(r.stderr().lines().anyMatch(l -> l.matches("amber: warning: pid " + t.pid
                    + " fd 3: inotify: \\d+ bytes of queued events are not saved; the restarted process will not see them")),
                    r.describe());
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    @Test
    void watchedPathGone() throws Exception {
        assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "inotify")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            Path c = t.dir.resolve("cwd").resolve("ino").resolve("c").toRealPath();
            Path aside = tmp.resolve("c.aside");
            Files.move(c, aside);
            Amber.Result r = Amber.run(Duration.ofSeconds(120), tmp, "restart", "-D", image.toString());
            assertEquals(1, r.exit(), r.describe());
            assertEquals("amber: restart from " + image + " failed: pid " + t.pid + " fd 3 inotify: watched path " + c
                    + " no longer exists: recreate it (or restart where it exists)", r.stderr().strip(), r.describe());
            assertFalse(Procs.exists(t.pid), "pid " + t.pid + " left behind by a failed restart");

            Files.move(aside, c);
            t.restart(image);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }
}
