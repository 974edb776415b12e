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
        assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "mem_anon")) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
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
                assertTrue(Files.readString(err1).contains("checkpointed pid " + t.pid + " to standard output"),
                        Files.readString(err1));
                Procs.await(() -> contains(out2, "restarted pid " + t.pid + " from standard input"),
                        Duration.ofSeconds(60), "restart from the pipe\n" + Files.readString(err2));
                Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(10), "pid " + t.pid + " to run");
                CheckpointRestartTest.assertSame(before, t);
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
