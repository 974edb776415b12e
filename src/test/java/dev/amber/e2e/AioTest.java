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
 * Kernel AIO contexts (src/test/c/aio.c): rings with completed writes not yet reaped, in a parent
 * and its child, come back at their addresses with head, tail and events as they were, and take
 * new writes; after a checkpoint that leaves the tree running, and after two checkpoint --kill and
 * restart rounds; a child forked after io_setup shares its parent's ring again. An io_uring
 * instance is refused by name.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AioTest {
    @TempDir
    Path tmp;

    @Test
    void contexts_with_unreaped_events() throws Exception {
        try (Target t = Target.start(tmp, "aio")) {
            java.util.Set<Long> tree = new java.util.HashSet<>();
            try {
                t.awaitReady();
                tree.addAll(TreeTest.tree(t.pid).keySet());
                assertEquals(2, tree.size(), "parent and child");
                if (!Amber.nocr()) {
                    Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("running").toString());
                    assertEquals(0, r.exit(), r.describe());
                    for (int round = 0; round < 2; round++) {
                        Path image = tmp.resolve("image" + round);
                        t.checkpointKill(image);
                        t.restart(image);
                    }
                }
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                SharedMappingTest.killChildren(t, tree);
            }
        }
    }

    /**
     * A child forked after io_setup maps its parent's ring, no context of its own: it comes back
     * mapping the parent's restored ring, and sees the parent's reaping and completions in it.
     */
    @Test
    void ring_inherited_by_a_child() throws Exception {
        try (Target t = Target.start(tmp, "aio", "inherited")) {
            java.util.Set<Long> tree = new java.util.HashSet<>();
            try {
                t.awaitReady();
                tree.addAll(TreeTest.tree(t.pid).keySet());
                if (!Amber.nocr()) {
                    for (int round = 0; round < 2; round++) {
                        Path image = tmp.resolve("image" + round);
                        t.checkpointKill(image);
                        t.restart(image);
                    }
                }
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                SharedMappingTest.killChildren(t, tree);
            }
        }
    }

    @Test
    void io_uring_refused() throws Exception {
        refused("uring", "io_uring rings: not supported: the submission and completion queues and the requests in"
                + " flight are kernel state Amber cannot save; use kernel AIO (io_submit) or plain system calls");
    }

    private void refused(String mode, String what) throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: refusal (AMBER_TEST_NOCR=1)");
        try (Target t = Target.start(tmp, "aio", mode)) {
            java.util.Set<Long> tree = new java.util.HashSet<>();
            try {
                t.awaitReady();
                tree.addAll(TreeTest.tree(t.pid).keySet());
                List<String> log = t.logLines();
                String range = log.stream().filter(l -> l.startsWith("RING ")).findFirst().orElseThrow().split(" ")[1];
                long pid = t.pid;
                ProcSnapshot before = t.snapshot();
                Path image = tmp.resolve("image");
                Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
                assertEquals(3, r.exit(), r.describe());
                String line = "pid " + pid + " address 0x" + range.replace("-", "-0x") + ": " + what;
                assertTrue(r.stderrLines().contains(line), "the line '" + line + "'\n" + r.describe());
                assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left an inventory");
                Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
                CheckpointRestartTest.assertSame(before, t);
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
            } finally {
                SharedMappingTest.killChildren(t, tree);
            }
        }
    }
}
