package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
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

    /** A thread in strict mode next to one that is not: modes are per thread. */
    @Test
    void strict_thread() throws Exception {
        cycle("seccomp_strict", "thread");
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

    /** A filter that hands calls to a supervisor (SECCOMP_RET_USER_NOTIF) is refused, naming it; the target runs on. */
    @Test
    void user_notification_refused() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: refusal (AMBER_TEST_NOCR=1)");
        try (Target t = Target.start(tmp, "seccomp_filter", "notify")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
            assertEquals(3, r.exit(), r.describe());
            assertTrue(r.stderrLines().contains("pid " + t.pid + ": seccomp: filter 3 of 3 (oldest first) can return"
                    + " SECCOMP_RET_USER_NOTIF: its notification listener (a supervisor's descriptor) cannot be saved"
                    + " yet"), r.describe());
            assertFalse(Files.exists(image.resolve("inventory.pb")));
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /** amber without CAP_SYS_ADMIN: the bounding set is all a root process's capabilities can come from. */
    private static final List<String> NO_SYS_ADMIN = List.of("setpriv", "--bounding-set=-sys_admin", "--inh-caps=-all",
            "--");

    /** Without CAP_SYS_ADMIN seccomp cannot be suspended: the checkpoint says so before it injects anything. */
    @Test
    void checkpoint_without_sys_admin() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine (AMBER_TEST_NOCR=1)");
        try (Target t = Target.start(tmp, "seccomp_strict")) {
            t.awaitReady();
            String child = t.logLines().stream().filter(l -> l.startsWith("CHILD ")).findFirst().orElseThrow()
                    .substring(6);
            Path image = tmp.resolve("image");
            Amber.Result r = t.tool(NO_SYS_ADMIN, "checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill")
                    .await(Target.TOOL_TIMEOUT);
            assertEquals(1, r.exit(), r.describe());
            assertEquals("amber: checkpoint of pid " + t.pid + " failed: pid " + child + ": seccomp: strict mode: Amber"
                    + " must suspend it to work inside the process (PTRACE_O_SUSPEND_SECCOMP), which needs"
                    + " CAP_SYS_ADMIN: run amber checkpoint as root", r.stderrLines().getLast(), r.describe());
            assertFalse(Files.exists(image.resolve("inventory.pb")));
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /** Nor when amber runs under seccomp itself (a container's profile, say), which the kernel forbids a tracer. */
    @Test
    void checkpoint_under_seccomp() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine (AMBER_TEST_NOCR=1)");
        try (Target t = Target.start(tmp, "seccomp_filter")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            Amber.Result r = t.tool(List.of(Targets.binary("seccomp_wrap").toString()), "checkpoint",
                    Long.toString(t.pid), "-D", image.toString(), "--kill").await(Target.TOOL_TIMEOUT);
            assertEquals(1, r.exit(), r.describe());
            assertEquals("amber: checkpoint of pid " + t.pid + " failed: pid " + t.pid + ": seccomp: filter mode: Amber"
                    + " must suspend it to work inside the process (PTRACE_O_SUSPEND_SECCOMP), which a tracer itself"
                    + " under seccomp may not do (amber runs with Seccomp: 2): run amber checkpoint without seccomp (in"
                    + " a container: --security-opt seccomp=unconfined)", r.stderrLines().getLast(), r.describe());
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /** Nor can a restart: it refuses before it makes anything, and one with the capability then works. */
    @Test
    void restart_without_sys_admin() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine (AMBER_TEST_NOCR=1)");
        try (Target t = Target.start(tmp, "seccomp_filter")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            Amber.Result r = t.tool(NO_SYS_ADMIN, "restart", "-D", image.toString()).await(Target.TOOL_TIMEOUT);
            assertEquals(1, r.exit(), r.describe());
            assertEquals("amber: restart from " + image + " failed: pid " + t.pid + ": seccomp: filter mode: Amber must"
                    + " suspend it while it works in the process (PTRACE_O_SUSPEND_SECCOMP), which needs"
                    + " CAP_SYS_ADMIN: run amber restart as root", r.stderrLines().getLast(), r.describe());
            assertFalse(Procs.exists(t.pid), "pid " + t.pid + " left behind by a failed restart");
            t.restart(image);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
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
