package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Descriptor tables with no room left (src/test/c/fd_table.c): every slot up to RLIMIT_NOFILE in
 * use, a soft limit below the highest descriptor, a descriptor at the highest number the hard
 * limit allows, a tree whose every process is full, and a table that fills every slot below the
 * hard limit of amber restart itself. Each comes back with exactly its descriptors (the
 * /proc/PID/fd set, links and fdinfo) and exactly its limits (/proc/PID/limits), after
 * checkpoint --kill and restart and after a checkpoint that leaves it running; the target then
 * checks every descriptor number up to its hard limit itself. A table shared with a child
 * (CLONE_FILES) comes back shared. Tables that cannot be restored
 * under amber restart's hard limit are refused in one line before anything is made.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class FdTableTest {
    @TempDir
    Path tmp;

    @Test
    void every_slot_up_to_the_soft_limit() throws Exception {
        roundTrip(List.of(), "full", "100");
    }

    @Test
    void soft_limit_below_the_highest_descriptor() throws Exception {
        roundTrip(List.of(), "below", "200", "50");
    }

    /** The one number the hard limit leaves (hard-1), with soft = hard: nothing above it for Amber. */
    @Test
    void descriptor_at_the_top_of_the_hard_limit() throws Exception {
        roundTrip(List.of(), "high");
    }

    /** soft = hard = 100 and amber restart's own hard limit 100 too: not one number to spare. */
    @Test
    void every_slot_up_to_the_hard_limit_of_the_restart() throws Exception {
        roundTrip(List.of("prlimit", "--nofile=100:100"), "hardfull", "100");
    }

    @Test
    void tree_of_full_tables() throws Exception {
        roundTrip(List.of(), "tree", "3", "64");
    }

    /** A child made with clone(CLONE_FILES): one table for both, full, and still one after the restart. */
    @Test
    void table_shared_with_a_child() throws Exception {
        roundTrip(List.of(), "shared", "64");
    }

    @Test
    void shared_table_with_a_memfd_is_refused() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: refusal");
        try (Target t = Target.start(tmp, "fd_table", "shared", "64", "memfd")) {
            try {
                t.awaitReady();
                long child = Long.parseLong(t.logLines().stream().filter(l -> l.startsWith("CHILD ")).findFirst()
                        .orElseThrow().substring(6));
                Map<Long, State> before = states(t.pid);
                Path image = tmp.resolve("image");
                Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
                assertEquals(3, r.exit(), r.describe());
                String line = "pid " + child + " parent " + t.pid + ": shared with the parent process: it shares its"
                        + " descriptor table (CLONE_FILES) with pid " + t.pid + ", and one of the two has a memfd, which"
                        + " a restart cannot make in a shared table yet: not supported";
                assertEquals(1, r.stderrLines().stream().filter(line::equals).count(), r.describe());
                Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
                assertSame(before, t);
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                killTree(t);
            }
        }
    }

    @Test
    void checkpoint_without_kill_leaves_the_table_as_it_was() throws Exception {
        try (Target t = Target.start(tmp, "fd_table", "tree", "2", "64")) {
            try {
                t.awaitReady();
                Map<Long, State> before = states(t.pid);
                if (!Amber.nocr()) {
                    Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("image").toString());
                    assertEquals(0, r.exit(), r.describe());
                    Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
                    assertSame(before, t);
                }
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                killTree(t);
            }
        }
    }

    @Test
    void descriptor_above_the_hard_limit_of_the_restart_is_refused() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "fd_table", "high")) {
            t.awaitReady();
            long top = Long.parseLong(t.logLines().stream().filter(l -> l.startsWith("LIMIT ")).findFirst().orElseThrow()
                    .split(" ")[2]) - 1;
            refusedUnder(t, 1000, "pid " + t.pid + " fd " + top + ": above RLIMIT_NOFILE's hard limit 1000 of amber"
                    + " restart, which its puppets inherit and may not raise without CAP_SYS_RESOURCE: run amber restart"
                    + " with a hard limit of at least " + (top + 2) + " (prlimit --nofile=" + (top + 2) + ":" + (top + 2)
                    + " amber restart ...)");
        }
    }

    /** A memfd needs a temporary number from its mapping's restore until its descriptor's. */
    @Test
    void full_table_with_a_memfd_under_the_same_hard_limit_is_refused() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "fd_table", "hardfull", "100", "memfd")) {
            t.awaitReady();
            refusedUnder(t, 100, "pid " + t.pid + ": its 100 descriptors fill every slot below RLIMIT_NOFILE's hard"
                    + " limit 100 of amber restart, with no slot left for the temporary of its memfd while it is restored:"
                    + " run amber restart with a hard limit of at least 102 (prlimit --nofile=102:102 amber restart ...)");
        }
    }

    /** checkpoint --kill, then restart under hard limit {@code hard}: one line, exit 1, no process. */
    private void refusedUnder(Target t, int hard, String line) throws Exception {
        Path image = tmp.resolve("image");
        t.checkpointKill(image);
        Amber.Result r = t.tool(List.of("prlimit", "--nofile=" + hard + ":" + hard), "restart", "-D",
                image.toString()).await(Target.TOOL_TIMEOUT);
        assertEquals(1, r.exit(), r.describe());
        assertEquals(List.of("amber: restart from " + image + " failed: " + line), r.stderrLines(), r.describe());
        assertFalse(Procs.exists(t.pid), "pid " + t.pid + " exists after a refused restart");
    }

    private void roundTrip(List<String> restartWrapper, String... args) throws Exception {
        try (Target t = Target.start(tmp, "fd_table", args)) {
            try {
                t.awaitReady();
                Map<Long, State> before = states(t.pid);
                if (!Amber.nocr()) {
                    Path image = tmp.resolve("image");
                    t.checkpointKill(image);
                    t.restart(image, restartWrapper);
                }
                assertSame(before, t);
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                killTree(t);
            }
        }
    }

    /**
     * What is compared of one process: its descriptors as /proc shows them, and its limits. Pipes,
     * sockets and memfds are made anew by a restart, with inode numbers of the kernel's choosing:
     * those numbers are masked. The maps are left to the memory tests: a child's anonymous
     * mappings split around what it inherited from its parent come back merged (an anon_vma
     * matter, not a descriptor one).
     */
    record State(ProcSnapshot proc, String limits) {
        static State of(long pid) throws IOException {
            return new State(masked(ProcSnapshot.take(pid)), Files.readString(Path.of("/proc/" + pid + "/limits")));
        }

        static ProcSnapshot masked(ProcSnapshot s) {
            Map<Integer, String> fds = new TreeMap<>();
            s.fds().forEach((fd, v) -> fds.put(fd, v.startsWith("pipe:") || v.startsWith("socket:")
                    || v.startsWith("/memfd:") ? v.replaceAll("\\[\\d+\\]", "[]").replaceAll(" ino=\\d+", " ino=") : v));
            return new ProcSnapshot(List.of(), s.status(), fds);
        }
    }

    /** Every process of the tree under {@code root}, by pid. */
    private static Map<Long, State> states(long root) throws IOException {
        Map<Long, State> out = new LinkedHashMap<>();
        for (long pid : TreeTest.tree(root).keySet()) {
            out.put(pid, State.of(pid));
        }
        return out;
    }

    private static void assertSame(Map<Long, State> before, Target t) throws IOException, InterruptedException {
        assertEquals(before.keySet(), TreeTest.tree(t.pid).keySet(), "the processes of the tree");
        for (var e : before.entrySet()) {
            long pid = e.getKey();
            String diff = "";
            for (int attempt = 0; attempt < 40; attempt++) {   // sigsuspend's mask is set when it is re-entered
                diff = e.getValue().proc().diff(State.masked(ProcSnapshot.take(pid)));
                if (diff.isEmpty()) {
                    break;
                }
                Thread.sleep(25);
            }
            assertEquals("", diff, "/proc of pid " + pid + " differs:\n" + diff);
            assertEquals(e.getValue().limits(), Files.readString(Path.of("/proc/" + pid + "/limits")),
                    "/proc/" + pid + "/limits");
        }
    }

    private static void killTree(Target t) {
        for (long p : TreeTest.tree(t.pid).keySet()) {
            if (p != t.pid && t.binary.toString().equals(Procs.exe(p))) {
                try {
                    Procs.signal(p, "KILL");
                } catch (Exception | AssertionError e) {
                    // gone meanwhile
                }
            }
        }
    }
}
