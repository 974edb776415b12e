package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An image through a pipe, in one pass: {@code checkpoint PID -D - --kill | restart -D - --wait}.
 * The target comes back with its PID and its state, and nothing of the image stays behind.
 */
class StreamTest {
    @TempDir
    Path tmp;

    private static boolean contains(Path file, String text) {
        try {
            return Files.readString(file).contains(text);
        } catch (java.io.IOException e) {
            return false;
        }
    }

    @Test
    void checkpointIntoAPipeAndRestartFromIt() throws Exception {
        throughAPipe("mem_anon", "", true);
    }

    /**
     * A whole tree (tree_shapes.c: 11 processes, zombies, pipes, shared memory) through a pipe:
     * its processes' ids and states are compared (its pipes and memfd are new inodes, which no
     * restart can choose), and the target checks the rest itself.
     */
    @Test
    void aTreeThroughAPipe() throws Exception {
        throughAPipe("tree_shapes", " and its 10 descendants", false);
    }

    private void throughAPipe(String target, String descendants, boolean sameProc) throws Exception {
        assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, target)) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
            java.util.Map<Long, String> tree = TreeTest.tree(t.pid);
            Path err1 = tmp.resolve("checkpoint.err");
            Path err2 = tmp.resolve("restart.err");
            Path out2 = tmp.resolve("restart.out");
            List<Process> pipeline = ProcessBuilder.startPipeline(List.of(
                    new ProcessBuilder(Amber.command("checkpoint", Long.toString(t.pid), "-D", "-", "--kill"))
                            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                            .redirectError(err1.toFile()),
                    new ProcessBuilder(Amber.command("restart", "-D", "-", "--wait"))
                            .redirectOutput(out2.toFile())
                            .redirectError(err2.toFile())));
            Process checkpoint = pipeline.get(0);
            Process restart = pipeline.get(1);
            try {
                assertTrue(checkpoint.waitFor(120, TimeUnit.SECONDS), "checkpoint into a pipe did not finish");
                assertEquals(0, checkpoint.exitValue(), Files.readString(err1));
                assertTrue(Files.readString(err1).contains("checkpointed pid " + t.pid + descendants + " to standard output"),
                        Files.readString(err1));
                Procs.await(() -> contains(out2, "restarted pid " + t.pid + " from standard input"),
                        Duration.ofSeconds(60), "restart from the pipe\n" + Files.readString(err2));
                Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(10), "pid " + t.pid + " to run");
                if (sameProc) {
                    CheckpointRestartTest.assertSame(before, t);
                } else {
                    Procs.await(() -> TreeTest.tree(t.pid).equals(tree), Duration.ofSeconds(10), "the same tree\n"
                            + tree + "\n" + TreeTest.tree(t.pid));
                }
                t.sigterm();
                assertTrue(restart.waitFor(60, TimeUnit.SECONDS), "restored target did not end");
                assertEquals(0, restart.exitValue(), Files.readString(err2) + t.logText());
                assertEquals("PASS", t.logLines().getLast(), t.logText());
                assertEquals("", Files.readString(err2));
            } finally {
                checkpoint.destroyForcibly();
                if (restart.isAlive()) {
                    Procs.signal(t.pid, "KILL");
                    restart.destroyForcibly();
                }
            }
        }
    }
}
