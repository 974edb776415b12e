package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A resource this milestone cannot save: checkpoint exits 3 naming {@code pid N fd M} and the
 * kind, writes no usable image, and leaves the target exactly as it was, still running (even
 * with --kill), which then PASSes with the resource intact.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RefusalTest {
    @TempDir
    Path tmp;

    private void refused(String kind, String keyword) throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: refusal (AMBER_TEST_NOCR=1)");
        try (Target t = Target.start(tmp, "refuse_socket", kind)) {
            t.awaitReady();
            String fd = t.logLines().stream().filter(l -> l.startsWith("FD ")).findFirst().orElseThrow().substring(3);
            ProcSnapshot before = t.snapshot();
            Path image = tmp.resolve("image");
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
            assertEquals(3, r.exit(), r.describe());
            String prefix = "pid " + t.pid + " fd " + fd + ":";
            List<String> named = r.stderrLines().stream().filter(l -> l.startsWith(prefix)).toList();
            assertEquals(1, named.size(), "one refusal line starting '" + prefix + "'\n" + r.describe());
            assertTrue(named.getFirst().contains(keyword) && named.getFirst().contains("not supported"),
                    "refusal names the kind (" + keyword + ") and says 'not supported': " + named.getFirst());
            // docs/image-format.md: a directory without inventory.pb is not an image
            assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left " + image.resolve("inventory.pb"));
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
            CheckpointRestartTest.assertSame(before, t);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /** A TCP connect(2) in progress (SYN_SENT): repair mode cannot bring a handshake back. */
    @Test
    void refuse_socket_tcp() throws Exception {
        refused("tcp", "TCP connection in state SYN_SENT (handshake in progress)");
    }

    @Test
    void refuse_socket_fanotify() throws Exception {
        refused("fanotify", "fanotify");
    }

    /**
     * A process moved into a cgroup of its own: membership is not saved yet, so the checkpoint
     * refuses it, naming both cgroups, and the process runs on where it was.
     */
    @Test
    void refuse_cgroup_membership() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: refusal (AMBER_TEST_NOCR=1)");
        Path unified = Path.of("/sys/fs/cgroup/unified");
        Assumptions.assumeTrue(Files.exists(unified.resolve("cgroup.procs")), "no cgroup v2 hierarchy at " + unified);
        String ours = Files.readAllLines(Path.of("/proc/self/cgroup")).stream()
                .filter(l -> l.startsWith("0::")).findFirst().orElseThrow().substring(3);
        Path cgroup = unified.resolve(ours.substring(1)).resolve("amber-refusal-" + ProcessHandle.current().pid());
        Files.createDirectory(cgroup);
        try (Target t = Target.start(tmp, "counter")) {
            t.awaitReady();
            Files.writeString(cgroup.resolve("cgroup.procs"), Long.toString(t.pid));
            String moved = (ours.equals("/") ? "" : ours) + "/" + cgroup.getFileName();
            Path image = tmp.resolve("image");
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
            assertEquals(3, r.exit(), r.describe());
            assertEquals("pid " + t.pid + " cgroup: unified:" + moved + ": differs from that of its parent pid "
                            + ProcessHandle.current().pid() + " (unified:" + ours + "): cgroup membership is not saved"
                            + " yet; move it back to checkpoint it",
                    r.stderrLines().getFirst(), r.describe());
            assertFalse(Files.exists(image.resolve("inventory.pb")));
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
            assertTrue(Files.readString(Path.of("/proc/" + t.pid + "/cgroup")).contains("0::" + moved + "\n"));
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        } finally {
            Files.delete(cgroup);
        }
    }

    /** Without the engine the target itself must still pass. */
    @Test
    void refuse_socket_targets_pass_alone() throws Exception {
        Assumptions.assumeTrue(Amber.nocr(), "covered by the refusal tests");
        for (String kind : List.of("tcp", "fanotify")) {
            try (Target t = Target.start(tmp.resolve(kind), "refuse_socket", kind)) {
                t.awaitReady();
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
            }
        }
    }
}
