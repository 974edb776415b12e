package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real JVM end to end: src/test/java-targets/Counter.java (compiled here with the JDK's javac,
 * outside Maven's test compile) runs several threads that append 1, 2, 3, ... to a file every
 * 100 ms. It is checkpointed with --kill and restarted, and must go on counting from where it
 * stopped, with no gap and no repeat, then pass its own check on SIGTERM.
 * With AMBER_TEST_NOCR=1 the checkpoint and restart are skipped, which checks the program alone.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class JvmTest {
    private static final Path BASE = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
    private static final Path SOURCE = BASE.resolve("src/test/java-targets/Counter.java");
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private static Path jdkTool(String name) {
        return Path.of(System.getProperty("java.home"), "bin", name);
    }

    /** javac Counter.java into dir/classes. */
    private Path compile() throws IOException, InterruptedException {
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        Path log = tmp.resolve("javac.log");
        Process javac = new ProcessBuilder(jdkTool("javac").toString(), "-d", classes.toString(), SOURCE.toString())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(log.toFile())
                .redirectErrorStream(true)
                .start();
        if (!javac.waitFor(120, TimeUnit.SECONDS)) {
            javac.destroyForcibly();
            throw new AssertionError("javac Counter.java: timed out");
        }
        assertEquals(0, javac.exitValue(), "javac Counter.java:\n" + Files.readString(log));
        return classes;
    }

    /** The values in the file so far, complete lines only (the last one may be half-written). */
    private static List<Long> values(Path file) throws IOException {
        if (!Files.exists(file))
            return List.of();
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        List<Long> values = new ArrayList<>();
        for (String line : text.substring(0, text.lastIndexOf('\n') + 1).split("\n"))
            if (!line.isEmpty())
                values.add(Long.parseLong(line));
        return values;
    }

    private static long last(List<Long> values) {
        return values.isEmpty() ? 0 : values.getLast();
    }

    /** 1, 2, ..., n: no gap, no repeat. */
    private static void assertConsecutive(List<Long> values, String when) {
        for (int i = 0; i < values.size(); i++)
            if (values.get(i) != i + 1)
                throw new AssertionError("counter file " + when + ": line " + (i + 1) + " holds " + values.get(i)
                        + " (gap or repeat)\n" + values);
    }

    private static void awaitCount(Path file, long above, Duration timeout, Path log) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (last(values(file)) <= above) {
            if (System.nanoTime() > deadline)
                throw new AssertionError("the counter stays at " + last(values(file)) + ", expected past " + above
                        + " within " + timeout + "\n--- " + log + "\n" + Files.readString(log));
            Thread.sleep(20);
        }
    }

    /** The pid is ours: the JDK's java running Counter on our file (other JVMs share the java binary). */
    private static boolean isCounter(long pid, Path java, Path file) {
        if (!java.toString().equals(Procs.exe(pid)))
            return false;
        try {
            return Procs.read(Path.of("/proc", Long.toString(pid), "cmdline")).contains(file.toString());
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void counter() throws Exception {
        Path classes = compile();
        Path java = jdkTool("java").toRealPath();
        Path cwd = Files.createDirectories(tmp.resolve("cwd"));
        Path file = cwd.resolve("counter.txt");
        Path log = tmp.resolve("Counter.log");
        Process original = new ProcessBuilder(java.toString(), "-XX:+UseSerialGC", "-Xshare:auto", "-cp",
                classes.toString(), "Counter", file.toString())
                .directory(cwd.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true)
                .start();
        long pid = original.pid();
        Amber.Running restart = null;
        try {
            Procs.await(() -> {
                try {
                    return Files.readAllLines(log).contains("READY");
                } catch (IOException e) {
                    return false;
                }
            }, READY_TIMEOUT, "Counter to print READY");
            awaitCount(file, 5, Duration.ofSeconds(10), log);

            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                Amber.Result r = Amber.run(Target.TOOL_TIMEOUT, tmp.resolve("tool"), "checkpoint", Long.toString(pid),
                        "-D", image.toString(), "--kill");
                assertEquals(0, r.exit(), r.describe() + "\n--- " + log + "\n" + Files.readString(log));
                Target.assertImage(image, r);
                assertTrue(original.waitFor(10, TimeUnit.SECONDS), "pid " + pid + " alive 10 s after checkpoint --kill");
                Procs.await(() -> !Procs.exists(pid), Duration.ofSeconds(10), "pid " + pid + " to disappear");
                List<Long> atCheckpoint = values(file);
                assertConsecutive(atCheckpoint, "at the checkpoint");

                // Any JVM started meanwhile deletes a dead JVM's hsperfdata file, which this one maps:
                // the restart must make it again.
                Files.deleteIfExists(Path.of("/tmp/hsperfdata_" + System.getProperty("user.name"), Long.toString(pid)));
                restart = Amber.start(tmp.resolve("tool"), "restart", "-D", image.toString(), "--wait");
                long deadline = System.nanoTime() + Target.TOOL_TIMEOUT.toNanos();
                while (!(java.toString().equals(Procs.exe(pid)) && Procs.runsFree(pid))) {
                    if (!restart.isAlive())
                        throw new AssertionError("restart exited before pid " + pid + " ran\n" + restart.result().describe());
                    if (System.nanoTime() > deadline)
                        throw new AssertionError("pid " + pid + " not running free " + Target.TOOL_TIMEOUT
                                + " after restart (state " + Procs.state(pid) + ")\n--- restart stderr\n"
                                + restart.stderrSoFar());
                    Thread.sleep(10);
                }
                // Every thread released: none stopped or traced.
                Procs.await(() -> {
                    try {
                        return ThreadsTest.Task.all(pid).values().stream()
                                .allMatch(t -> t.state() != 't' && t.state() != 'T' && "0".equals(t.tracerPid()));
                    } catch (IOException e) {
                        return false;
                    }
                }, Duration.ofSeconds(5), "every thread of pid " + pid + " to run free");
                // ~2 s of counting after the restart: it goes on from the checkpoint's last value.
                awaitCount(file, last(atCheckpoint) + 20, Duration.ofSeconds(15), log);
                List<Long> after = values(file);
                assertConsecutive(after, "after restart");
                assertEquals(atCheckpoint, after.subList(0, atCheckpoint.size()), "lines written before the checkpoint");
            } else {
                awaitCount(file, last(values(file)) + 20, Duration.ofSeconds(15), log);
                assertConsecutive(values(file), "while running");
            }

            Procs.signal(pid, "TERM");
            int exit;
            if (restart == null) {
                assertTrue(original.waitFor(60, TimeUnit.SECONDS), "Counter: no exit within 60 s of SIGTERM");
                exit = original.exitValue();
            } else {
                exit = restart.await(Duration.ofSeconds(60)).exit();
            }
            String text = Files.readString(log);
            // A JVM ends on SIGTERM through its shutdown hooks and exit(128 + 15): 143, not a death by
            // signal. Counter halts with 1 when its check fails; 0 is accepted as a clean exit too.
            assertTrue(exit == 143 || exit == 0, "Counter exit status " + exit + "\n--- " + log + "\n" + text);
            assertTrue(text.lines().anyMatch("PASS"::equals), "no PASS from Counter\n--- " + log + "\n" + text);
            assertFalse(text.contains("FAIL"), text);
            assertConsecutive(values(file), "at the end");
        } finally {
            if (original.isAlive()) {
                original.destroyForcibly();
                original.waitFor(10, TimeUnit.SECONDS);
            }
            if (isCounter(pid, java, file)) {
                try {
                    Procs.signal(pid, "KILL");
                } catch (AssertionError e) {
                    // gone meanwhile
                }
            }
            if (restart != null)
                restart.close();
        }
    }
}
