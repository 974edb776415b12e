package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * seccomp (kind.seccomp): strict mode (src/test/c/seccomp_strict.c, a child that must survive a
 * checkpoint and still be killed by a forbidden call after a restart) and filters
 * (src/test/c/seccomp_filter.c: calls refused with errnos of their own, per thread, inherited by
 * a child, synchronized with TSYNC; the target reads every chain back through ptrace). Besides,
 * every task of the tree must show the same {@code Seccomp} and {@code Seccomp_filters} lines.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SeccompTest {
    @TempDir
    Path tmp;

    @Test
    void strict() throws Exception {
        cycle("seccomp_strict");
    }

    /** The child leaves strict mode only by exit(2): it still can after the restart. */
    @Test
    void strict_exit() throws Exception {
        cycle("seccomp_strict", "quit");
    }

    /**
     * Checkpointed twice and left running: the injected calls of the checkpoints must not be
     * fatal to the strict child, which then still answers, and still dies of a forbidden call.
     */
    @Test
    void strict_left_running() throws Exception {
        try (Target t = Target.start(tmp, "seccomp_strict")) {
            t.awaitReady();
            Map<String, String> before = seccomp(t.pid);
            assertEquals("1/0", before.values().stream().filter(v -> !v.startsWith("0/")).findFirst().orElse(""),
                    "the child in strict mode: " + before);
            if (!Amber.nocr()) {
                for (String image : new String[] {"image1", "image2"}) {
                    Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve(image).toString());
                    assertEquals(0, r.exit(), r.describe() + t.logText());
                }
                assertEquals(before, seccomp(t.pid));
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    @Test
    void filter() throws Exception {
        cycle("seccomp_filter");
    }

    /** Left running after a first checkpoint, then checkpointed again and restarted from the second. */
    @Test
    void filter_twice() throws Exception {
        try (Target t = Target.start(tmp, "seccomp_filter")) {
            t.awaitReady();
            Map<String, String> before = seccomp(t.pid);
            if (!Amber.nocr()) {
                Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("image1").toString());
                assertEquals(0, r.exit(), r.describe() + t.logText());
                assertEquals(before, seccomp(t.pid));
                t.checkpointKill(tmp.resolve("image2"));
                t.restart(tmp.resolve("image2"));
                assertEquals(before, seccomp(t.pid));
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /** Threads with filters of their own on top of a shared one. */
    @Test
    void filter_threads() throws Exception {
        cycle("seccomp_filter", "threads");
    }

    /** After the restart the leader adds a filter with TSYNC: only allowed while the threads share its filters. */
    @Test
    void filter_tsync() throws Exception {
        cycle("seccomp_filter", "tsync");
    }

    /** A child that inherited its parent's filter and added one. */
    @Test
    void filter_child() throws Exception {
        cycle("seccomp_filter", "child");
    }

    /** checkpoint --kill, restart --wait, the same seccomp lines in every task, and the target's own checks. */
    private void cycle(String name, String... args) throws Exception {
        try (Target t = Target.start(tmp, name, args)) {
            t.awaitReady();
            Map<String, String> before = seccomp(t.pid);
            assertTrue(before.values().stream().anyMatch(v -> !v.startsWith("0/")), "no task under seccomp: " + before);
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
                assertEquals(before, seccomp(t.pid));
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /** "PID/TID" -> "mode/filters" from each task's status, for every task of the tree under {@code root}. */
    static Map<String, String> seccomp(long root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        Deque<Long> pids = new ArrayDeque<>();
        pids.add(root);
        while (!pids.isEmpty()) {
            long pid = pids.poll();
            try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
                for (Path task : tasks) {
                    String status = Files.readString(task.resolve("status"));
                    out.put(pid + "/" + task.getFileName(), field(status, "Seccomp") + "/"
                            + field(status, "Seccomp_filters"));
                    for (String child : Files.readString(task.resolve("children")).trim().split("\\s+")) {
                        if (!child.isEmpty())
                            pids.add(Long.parseLong(child));
                    }
                }
            } catch (NoSuchFileException e) {
                // ended meanwhile
            }
        }
        return out;
    }

    private static String field(String status, String name) {
        for (String line : status.split("\n")) {
            if (line.startsWith(name + ":"))
                return line.substring(name.length() + 1).trim();
        }
        return "?";
    }
}
