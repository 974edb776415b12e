package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Wrong input through the CLI: each attempt fails with a non-zero exit and exactly one line on
 * stderr, and creates no process (the pid stays free, or stays the original's, and nothing runs
 * the target binary that was not running before).
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class BadInputTest {
    @TempDir
    Path tmp;

    @BeforeEach
    void needsEngine() {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: bad input (AMBER_TEST_NOCR=1)");
    }

    static void assertOneLineFailure(Amber.Result r) {
        assertNotEquals(0, r.exit(), r.describe());
        assertEquals(1, r.stderrLines().size(), "exactly one line on stderr\n" + r.describe());
    }

    @Test
    void restart_missing_directory() throws Exception {
        Amber.Result r = Amber.run(Target.TOOL_TIMEOUT, tmp.resolve("tool"), "restart", "-D",
                tmp.resolve("no-such-image").toString(), "--wait");
        assertOneLineFailure(r);
    }

    @Test
    void checkpoint_nonexistent_pid() throws Exception {
        long pid = Procs.unusedPid();
        Amber.Result r = Amber.run(Target.TOOL_TIMEOUT, tmp.resolve("tool"), "checkpoint", Long.toString(pid), "-D",
                tmp.resolve("image").toString());
        assertOneLineFailure(r);
        assertNotEquals(3, r.exit(), "a missing pid is an error, not a refusal\n" + r.describe());
        assertTrue(r.stderr().contains(Long.toString(pid)), "the error names pid " + pid + "\n" + r.describe());
    }

    /** restart while the checkpointed original still runs: the pid is taken. */
    @Test
    void restart_pid_in_use() throws Exception {
        try (Target t = Target.start(tmp, "counter")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            Amber.Result c = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString());
            assertEquals(0, c.exit(), c.describe());
            Target.assertImage(image, c);
            String started = Procs.statField(t.pid, 22);
            ProcSnapshot before = t.snapshot();
            Amber.Result r = t.run("restart", "-D", image.toString(), "--wait");
            assertOneLineFailure(r);
            assertTrue(r.stderr().contains(Long.toString(t.pid)), "the error names pid " + t.pid + "\n" + r.describe());
            assertEquals(started, Procs.statField(t.pid, 22), "pid " + t.pid + " is no longer the original process");
            assertEquals(List.of(t.pid), Targets.running(t.binary), "processes running " + t.binary);
            assertTrue(Procs.runsFree(t.pid), "original not running free");
            CheckpointRestartTest.assertSame(before, t, true);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /**
     * One image, then: every file with a byte flipped, the largest file truncated; each must be
     * refused before anything is created. Finally the untouched image restarts and PASSes, which
     * shows the refusals were about the damage.
     */
    @Test
    void restart_damaged_images() throws Exception {
        try (Target t = Target.start(tmp, "counter")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            List<Path> files = files(image);
            assertTrue(!files.isEmpty(), "empty image " + image);
            List<String> problems = new ArrayList<>();
            int n = 0;
            for (Path f : files) {
                if (Files.size(f) == 0)
                    continue;
                Path copy = copy(image, tmp.resolve("flip" + n++));
                Path victim = copy.resolve(image.relativize(f));
                long at = Files.size(victim) / 2;
                try (RandomAccessFile raf = new RandomAccessFile(victim.toFile(), "rw")) {
                    raf.seek(at);
                    int b = raf.read();
                    raf.seek(at);
                    raf.write(b ^ 0xff);
                }
                mustFail(t, copy, "byte " + at + " of " + image.relativize(f) + " flipped", problems);
            }
            Path largest = files.stream().max(Comparator.comparingLong(BadInputTest::size)).orElseThrow();
            Path copy = copy(image, tmp.resolve("truncated"));
            Path victim = copy.resolve(image.relativize(largest));
            try (RandomAccessFile raf = new RandomAccessFile(victim.toFile(), "rw")) {
                raf.setLength(raf.length() / 2);
            }
            mustFail(t, copy, image.relativize(largest) + " truncated to half", problems);
            Path extra = copy(image, tmp.resolve("extra"));
            Files.writeString(extra.resolve("stray.pb"), "not listed");
            mustFail(t, extra, "an unlisted file stray.pb added", problems);
            Path noInventory = copy(image, tmp.resolve("no-inventory"));
            Files.delete(noInventory.resolve("inventory.pb"));
            mustFail(t, noInventory, "inventory.pb missing", problems);
            assertEquals(List.of(), problems, "damaged images");

            t.restart(image);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    private static void mustFail(Target t, Path image, String damage, List<String> problems) throws Exception {
        try (Amber.Running r = t.tool("restart", "-D", image.toString(), "--wait")) {
            Amber.Result res;
            try {
                res = r.await(Duration.ofSeconds(60));
            } catch (AssertionError e) {
                problems.add(damage + ": restart did not fail (still running after 60 s)");
                return;
            }
            if (res.exit() == 0 || res.stderrLines().size() != 1)
                problems.add(damage + ": expected a non-zero exit and one stderr line\n" + res.describe());
        }
        if (Procs.exists(t.pid) || !Targets.running(t.binary).isEmpty()) {
            problems.add(damage + ": a process was left behind (pid " + t.pid + " exists: " + Procs.exists(t.pid) + ")");
            t.close(); // kill it by pid before the next attempt
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    private static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    private static Path copy(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path dest = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p))
                    Files.createDirectories(dest);
                else
                    Files.copy(p, dest);
            }
        }
        return to;
    }
}
