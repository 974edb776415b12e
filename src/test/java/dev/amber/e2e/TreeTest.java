package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Process trees. tree_shapes.c: a tree with its own groups and sessions, a group and a session
 * whose leaders exited, two zombies, shared anonymous memory, a shared file offset and pipes with
 * bytes in flight; checkpoint --kill and restart must give every process back with its pid,
 * parent, group, session and state, and the target checks the sharing itself. refuse_tree.c: a
 * checkpoint without --kill leaves parent and child exactly as they were. A pipe whose other end
 * is held outside the checkpointed subtree is refused, naming the holder.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TreeTest {
    @TempDir
    Path tmp;

    @Test
    void tree_shapes() throws Exception {
        try (Target t = Target.start(tmp, "tree_shapes")) {
            try {
                t.awaitReady();
                Map<Long, String> before = tree(t.pid);
                assertEquals(11, before.size(), "processes in the tree: " + before);
                assertTrue(before.values().stream().anyMatch(v -> v.contains(" Z ")), "zombies in " + before);
                if (!Amber.nocr()) {
                    Path image = tmp.resolve("image");
                    t.checkpointKill(image);
                    // The whole tree went, not only the root: each process was reaped by its parent
                    // before that was killed, none is left a zombie for pid 1 to reap (its pid taken).
                    assertEquals(List.of(), before.keySet().stream().filter(Procs::exists).toList(),
                            "processes left after checkpoint --kill: " + before);
                    t.restart(image);
                    Procs.await(() -> tree(t.pid).size() == before.size(), Duration.ofSeconds(10), "the whole tree");
                    assertEquals(before, tree(t.pid), "pid: ppid pgid sid state comm of every process");
                }
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                killTree(t);
            }
        }
    }

    /**
     * fifo_tree.c: a named FIFO between parent and child with bytes in flight, and a pipe whose
     * writers have all gone, read to its end after restart: every byte once, then end of file.
     */
    @Test
    void fifo_and_a_pipe_without_writers() throws Exception {
        roundTrips("fifo_tree", 1, Duration.ZERO);
    }

    /**
     * A real program's shape (server_tree.c): an epoll server over a unix listening socket, an
     * accepted connection, an eventfd and a periodic timerfd, with its client (a child) in the
     * middle of a ping/pong conversation; after restart both carry on, and every reply matches.
     */
    @Test
    void server_with_its_client_mid_conversation() throws Exception {
        roundTrips("server_tree", 1, Duration.ofMillis(300));   // a few hundred more round trips and ticks
    }

    /**
     * The client of server_tree alone: it inherited the server's listening socket, eventfd and
     * timerfd (and epoll, and pipe), which the server (outside the subtree) holds too; each is
     * refused, naming the server, and both go on as they were.
     */
    @Test
    void descriptions_shared_with_a_process_outside_are_refused() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "server_tree")) {
            try {
                t.awaitReady();
                long client = tree(t.pid).keySet().stream().filter(p -> p != t.pid).findFirst().orElseThrow();
                Path image = tmp.resolve("image");
                Amber.Result r = t.run("checkpoint", Long.toString(client), "-D", image.toString(), "--kill");
                assertEquals(3, r.exit(), r.describe());
                for (String what : List.of("anon_inode:[eventfd]", "anon_inode:[timerfd]", ": socket:[")) {
                    assertTrue(r.stderrLines().stream().anyMatch(l -> l.startsWith("pid " + client + " fd ")
                            && l.contains(what) && l.contains("also held by pid " + t.pid + " (server_tree)")),
                            what + " refused naming the server\n" + r.describe());
                }
                assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left an image");
                Procs.await(() -> Procs.runsFree(client), Duration.ofSeconds(5), "the client to run free");
                Thread.sleep(200);
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                killTree(t);
            }
        }
    }

    /**
     * A tree that never holds still (fork_churn.c: workers forking and exiting, threads starting
     * and ending all the time): the freeze catches every process and thread, zombies included,
     * and after restart the churn goes on with every worker ending well.
     */
    @Test
    void tree_that_forks_all_the_time() throws Exception {
        roundTrips("fork_churn", 3, Duration.ZERO);
    }

    /**
     * A tree target that checks itself: READY, {@code rounds} times checkpoint --kill and
     * restart, let it run on for {@code after}, SIGTERM, PASS. Whatever is left is killed.
     */
    private void roundTrips(String target, int rounds, Duration after) throws Exception {
        try (Target t = Target.start(tmp, target)) {
            try {
                t.awaitReady();
                for (int round = 0; round < rounds && !Amber.nocr(); round++) {
                    Path image = tmp.resolve("image" + round);
                    t.checkpointKill(image);
                    t.restart(image);
                }
                Thread.sleep(after.toMillis());
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                killTree(t);
            }
        }
    }

    @Test
    void checkpoint_without_kill_leaves_the_tree_running() throws Exception {
        try (Target t = Target.start(tmp, "refuse_tree")) {
            t.awaitReady();
            long child = Long.parseLong(t.logLines().stream().filter(l -> l.startsWith("CHILD ")).findFirst()
                    .orElseThrow().substring(6));
            if (!Amber.nocr()) {
                ProcSnapshot parentBefore = t.snapshot();
                ProcSnapshot childBefore = ProcSnapshot.take(child);
                Path image = tmp.resolve("image");
                Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString());
                assertEquals(0, r.exit(), r.describe());
                assertTrue(r.stdout().contains("and its 1 descendant"), r.describe());
                Procs.await(() -> Procs.runsFree(t.pid) && Procs.runsFree(child), Duration.ofSeconds(5),
                        "pid " + t.pid + " and child " + child + " to run free");
                CheckpointRestartTest.assertSame(parentBefore, t);
                String diff = childBefore.diff(ProcSnapshot.take(child));
                assertEquals("", diff, "/proc of child " + child + " differs after the checkpoint:\n" + diff);
                Amber.Result show = t.run("show", image.toString());
                assertTrue(show.stdout().contains("process " + child), show.describe());
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /**
     * A restart that fails in the middle of the tree (B's own file is a directory by now, which
     * the up-front check passes but B cannot open for writing) kills and reaps every puppet made,
     * the processes restored before B included, says why in one line, and works once the file is
     * back.
     */
    @Test
    void a_restart_failing_half_way_leaves_no_process() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "tree_shapes")) {
            try {
                t.awaitReady();
                Map<Long, String> before = tree(t.pid);
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                for (long p : before.keySet()) {
                    Procs.await(() -> !Procs.exists(p), Duration.ofSeconds(10), "pid " + p + " to disappear");
                }
                Path own = t.dir.resolve("cwd/b_only.dat");
                Files.delete(own);
                Files.createDirectory(own);
                Amber.Result r = t.run("restart", "-D", image.toString());
                assertEquals(1, r.exit(), r.describe());
                assertEquals(1, r.stderrLines().size(), "one line\n" + r.describe());
                assertTrue(r.stderr().contains("b_only.dat"), r.describe());
                for (long p : before.keySet()) {
                    assertFalse(Procs.exists(p), "pid " + p + " left behind by the failed restart\n" + r.describe());
                }
                Files.delete(own);
                Files.createFile(own);
                t.restart(image);
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                killTree(t);
            }
        }
    }

    /**
     * A restart whose pids are taken (here by the original, still running) fails naming the pid
     * and its holder and offers --new-pidns; with it, the copy runs in a new pid namespace with
     * its saved pids there (NSpid), checks itself (every child's ids), and restart --wait reports
     * its status through the namespace's init. The original is untouched and passes too.
     */
    @Test
    void new_pidns_when_the_pids_are_taken() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "tree_shapes")) {
            try {
                t.awaitReady();
                Path image = tmp.resolve("image");
                Amber.Result c = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString());
                assertEquals(0, c.exit(), c.describe());
                Amber.Result taken = t.run("restart", "-D", image.toString());
                assertEquals(1, taken.exit(), taken.describe());
                assertTrue(taken.stderr().contains("pid " + t.pid + " is in use by another process (pid " + t.pid
                        + ", tree_shapes)") && taken.stderr().contains("--new-pidns"), taken.describe());
                assertEquals(1, taken.stderrLines().size(), "one line\n" + taken.describe());

                try (Amber.Running copy = t.tool("restart", "-D", image.toString(), "--new-pidns", "--wait")) {
                    Procs.await(() -> {
                        try {
                            return copy.stdoutSoFar().contains("outside its new pid namespace") || !copy.isAlive();
                        } catch (IOException e) {
                            return false;
                        }
                    }, Duration.ofSeconds(60), "the copy to start");
                    String out = copy.stdoutSoFar();
                    long host = Long.parseLong(out.replaceAll("(?s).*\\(pid (\\d+) outside.*", "$1"));
                    assertEquals(host + "\t" + t.pid, Procs.status(host, "NSpid"), "NSpid of the copy's root");
                    Procs.signal(host, "TERM");
                    Amber.Result r = copy.await(Duration.ofSeconds(60));
                    assertEquals(0, r.exit(), "the copy's status through restart --wait\n" + r.describe() + t.logText());
                }
                assertEquals(1, t.logLines().stream().filter("PASS"::equals).count(), "the copy passed\n" + t.logText());
                assertTrue(Procs.runsFree(t.pid), "the original still runs");
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                killTree(t);
            }
        }
    }

    /** A child sharing its parent's memory and descriptor table (clone CLONE_VM|CLONE_FILES) is refused, naming both. */
    @Test
    void child_sharing_the_parents_memory_is_refused() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "refuse_clone_vm")) {
            try {
                t.awaitReady();
                long child = Long.parseLong(t.logLines().stream().filter(l -> l.startsWith("CHILD ")).findFirst()
                        .orElseThrow().substring(6));
                Path image = tmp.resolve("image");
                Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
                assertEquals(3, r.exit(), r.describe());
                String prefix = "pid " + child + " parent " + t.pid + ": shared with the parent process: it shares ";
                assertTrue(r.stderrLines().stream().anyMatch(l -> l.startsWith(prefix + "its memory (CLONE_VM")),
                        r.describe());
                // A shared descriptor table (CLONE_FILES) alone is restored now: only the memory is named.
                assertFalse(r.stderrLines().stream().anyMatch(l -> l.startsWith(prefix + "its descriptor table")),
                        r.describe());
                assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left an image");
                Procs.await(() -> Procs.runsFree(t.pid) && Procs.runsFree(child), Duration.ofSeconds(5), "both to run free");
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
            } finally {
                killTree(t);
            }
        }
    }

    /** Checkpointing A of tree_shapes alone: its pipes' other ends are the root's, outside A's subtree. */
    @Test
    void pipe_to_a_process_outside_is_refused() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "tree_shapes")) {
            try {
                t.awaitReady();
                long a = Long.parseLong(t.logLines().stream().filter(l -> l.startsWith("TREE ")).findFirst()
                        .orElseThrow().split(" ")[2]);
                Map<Long, String> before = tree(t.pid);
                Path image = tmp.resolve("image");
                Amber.Result r = t.run("checkpoint", Long.toString(a), "-D", image.toString(), "--kill");
                assertEquals(3, r.exit(), r.describe());
                List<String> pipes = r.stderrLines().stream().filter(l -> l.startsWith("pid ") && l.contains("pipe:[")).toList();
                assertFalse(pipes.isEmpty(), "a refusal naming a pipe\n" + r.describe());
                assertTrue(pipes.stream().allMatch(l -> l.contains("shared with pid " + t.pid + " (tree_shapes) outside the tree: declare it with --external-fd")),
                        "each names the root as the holder\n" + r.describe());
                assertTrue(r.stderrLines().stream().anyMatch(l -> l.startsWith("pid " + a + " address 0x")
                        && l.contains("shared anonymous memory: also mapped by pid " + t.pid + " (tree_shapes)")),
                        "the shared page is refused, naming the root\n" + r.describe());
                assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left an image");
                Procs.await(() -> Procs.runsFree(a), Duration.ofSeconds(5), "pid " + a + " to run free");
                assertEquals(before, tree(t.pid), "the tree after the refusal");
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                killTree(t);
            }
        }
    }

    /**
     * pid -> "ppid pgid sid state comm" for every process under root. The root's ppid, and a group
     * or session led from outside the tree (the test's before, the restart's after), read "out".
     */
    static Map<Long, String> tree(long root) {
        Map<Long, String> raw = rawTree(root);
        String[] r = raw.getOrDefault(root, "- 0 0").split(" ");
        Map<Long, String> out = new TreeMap<>();
        raw.forEach((p, v) -> {
            String[] f = v.split(" ", 5);
            boolean groupOut = !raw.containsKey(Long.parseLong(f[1])) && f[1].equals(r[1]);
            boolean sessionOut = !raw.containsKey(Long.parseLong(f[2])) && f[2].equals(r[2]);
            String state = f[3].equals("R") ? "S" : f[3];   // running or sleeping: a matter of the moment
            out.put(p, f[0] + " " + (groupOut ? "out" : f[1]) + " " + (sessionOut ? "out" : f[2]) + " " + state + " " + f[4]);
        });
        return out;
    }

    private static Map<Long, String> rawTree(long root) {
        Map<Long, String> out = new TreeMap<>();
        List<Long> todo = new ArrayList<>(List.of(root));
        while (!todo.isEmpty()) {
            long p = todo.removeFirst();
            String stat = Procs.statLine(p);
            if (stat == null) {
                continue;
            }
            String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            out.put(p, (p == root ? "-" : f[1]) + " " + f[2] + " " + f[3] + " " + f[0] + " " + comm);
            for (String task : list(Path.of("/proc/" + p + "/task"))) {
                try {
                    for (String c : Files.readString(Path.of("/proc/" + p + "/task/" + task + "/children")).trim().split(" ")) {
                        if (!c.isEmpty()) {
                            todo.add(Long.parseLong(c));
                        }
                    }
                } catch (IOException e) {
                    // gone
                }
            }
        }
        return out;
    }

    private static List<String> list(Path dir) {
        try (var s = Files.list(dir)) {
            return s.map(f -> f.getFileName().toString()).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Every process of the target's tree still there, by pid (children die with it anyway: PDEATHSIG). */
    private static void killTree(Target t) {
        for (long p : tree(t.pid).keySet()) {
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
