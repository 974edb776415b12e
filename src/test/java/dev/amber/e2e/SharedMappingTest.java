package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Shared memory objects mapped by several processes of a tree, or twice by one, stay one object
 * across checkpoint --kill and restart (shared_mappings.c, one mode per shape): every process
 * maps the same object (dev:inode in its maps line), writes by any reach all the others, and the
 * contents (of the whole file, for a deleted one, with its size and mode) are those saved.
 *
 * <ul>
 * <li>counters: a /dev/shm file unlinked after mmap, three children incrementing counters in it
 * with atomics, totals consistent after restart;
 * <li>offsets: a deleted file with its descriptor open, mapped at pages 0-3 and again 0-1 by the
 * parent, 2-5 by the child;
 * <li>linked: a regular file still linked; sysv: a shmget segment; memfd: a memfd only mapped;
 * anon: MAP_SHARED|MAP_ANONYMOUS split in two vmas by mprotect; single: a deleted file mapped by
 * one process only.
 * </ul>
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SharedMappingTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"counters", "offsets", "linked", "sysv", "memfd", "anon", "single"})
    void one_object_before_is_one_object_after(String mode) throws Exception {
        try (Target t = Target.start(tmp, "shared_mappings", mode)) {
            java.util.Set<Long> tree = new java.util.HashSet<>();
            try {
                t.awaitReady();
                tree.addAll(TreeTest.tree(t.pid).keySet());
                if (!Amber.nocr()) {
                    for (int round = 0; round < 2; round++) {   // the restored tree checkpoints alike
                        Path image = tmp.resolve("image" + round);
                        t.checkpointKill(image);
                        t.restart(image);
                    }
                }
                Thread.sleep(100);
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                killChildren(t, tree);
            }
        }
    }

    /**
     * Private mappings of shared anonymous memory (shmem_private.c), in a parent and its child:
     * pages each wrote stay its own, the others follow the object, before and after a write to it;
     * after a checkpoint that leaves the tree running and two checkpoint --kill and restart rounds.
     * Its MAP_DROPPABLE page comes back dropped, its wipe-on-fork page as it was.
     */
    @Test
    void private_mappings_of_shared_memory() throws Exception {
        try (Target t = Target.start(tmp, "shmem_private")) {
            java.util.Set<Long> tree = new java.util.HashSet<>();
            try {
                t.awaitReady();
                tree.addAll(TreeTest.tree(t.pid).keySet());
                ProcSnapshot before = t.snapshot();
                if (!Amber.nocr()) {
                    Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("running").toString());
                    assertEquals(0, r.exit(), r.describe());
                    for (int round = 0; round < 2; round++) {
                        Path image = tmp.resolve("image" + round);
                        t.checkpointKill(image);
                        t.restart(image);
                    }
                }
                CheckpointRestartTest.assertSame(before, t);
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                killChildren(t, tree);
            }
        }
    }

    /**
     * One child of counters alone: the deleted /dev/shm file it maps shared is mapped by its
     * parent too, outside the subtree, which a restart would cut off: refused, naming the parent,
     * and the tree counts on untouched.
     */
    @Test
    void deleted_file_mapped_by_a_process_outside_is_refused() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: refusal (AMBER_TEST_NOCR=1)");
        try (Target t = Target.start(tmp, "shared_mappings", "counters")) {
            java.util.Set<Long> tree = new java.util.HashSet<>();
            try {
                t.awaitReady();
                tree.addAll(TreeTest.tree(t.pid).keySet());
                long child = tree.stream().filter(p -> p != t.pid).sorted().findFirst().orElseThrow();
                Path image = tmp.resolve("image");
                Amber.Result r = t.run("checkpoint", Long.toString(child), "-D", image.toString(), "--kill");
                assertEquals(3, r.exit(), r.describe());
                String end = ": shared mapping of deleted file /dev/shm/amber-counters-" + t.pid + ": also mapped by pid "
                        + t.pid + " (shared_mappings), outside the tree: checkpoint the tree of a common ancestor";
                assertTrue(r.stderrLines().stream().anyMatch(l -> l.startsWith("pid " + child + " address 0x")
                        && l.endsWith(end)), "a line ending '" + end + "'\n" + r.describe());
                assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left an inventory");
                Procs.await(() -> Procs.runsFree(child), Duration.ofSeconds(5), "child " + child + " to run free");
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                killChildren(t, tree);
            }
        }
    }

    /** Kills what is left of the target's children (seen at READY or now), by pid, only if still the target. */
    static void killChildren(Target t, java.util.Set<Long> seen) {
        java.util.Set<Long> tree = new java.util.HashSet<>(seen);
        tree.addAll(TreeTest.tree(t.pid).keySet());
        for (long p : tree) {
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
