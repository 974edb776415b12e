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
 * timerfd and epoll descriptors (kinds {@code dev.amber.kind.timerfd} and {@code
 * dev.amber.kind.epoll}): each target sets them up, is checkpointed with --kill and restarted,
 * and verifies itself (src/test/c/timerfd.c, epoll.c). An epoll watch whose descriptor was closed
 * is refused.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TimerEpollKindsTest {
    @TempDir
    Path tmp;

    private void checkpointRestart(String name, String... args) throws Exception {
        CheckpointRestartTest.roundTrip(tmp, name, args);
    }

    @Test
    void timerfd() throws Exception {
        checkpointRestart("timerfd");
    }

    @Test
    void epoll() throws Exception {
        checkpointRestart("epoll");
    }

    /** Watches that outlived their descriptor numbers come back through the descriptors that hold their files. */
    @Test
    void epoll_closed_watch() throws Exception {
        checkpointRestart("epoll", "closed");
    }

    /** A watch of a file no descriptor of the process holds (a child does) cannot be added again: refused, the target runs on. */
    @Test
    void epoll_unheld_watch_refused() throws Exception {
        try (Target t = Target.start(tmp, "epoll", "elsewhere")) {
            t.awaitReady();
            if (!Amber.nocr()) {
                String fd = t.logLines().stream().filter(l -> l.startsWith("FD ")).findFirst().orElseThrow().substring(3);
                ProcSnapshot before = t.snapshot();
                Path image = tmp.resolve("image");
                Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
                assertEquals(3, r.exit(), r.describe());
                String prefix = "pid " + t.pid + " fd " + fd + ": epoll: watches fd ";
                List<String> named = r.stderrLines().stream().filter(l -> l.startsWith(prefix)).toList();
                assertEquals(1, named.size(), "one refusal line starting '" + prefix + "'\n" + r.describe());
                assertTrue(named.getFirst().endsWith(", and no other descriptor of the"
                        + " process holds the watched file (a mapping or another process does): the watch cannot be"
                        + " added again; remove it (EPOLL_CTL_DEL) before closing the descriptor"), named.getFirst());
                assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left an inventory");
                Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
                CheckpointRestartTest.assertSame(before, t);
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }
}
