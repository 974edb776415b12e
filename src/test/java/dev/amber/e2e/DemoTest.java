package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code amber demo} as a user runs it: it builds a counter, checkpoints it with --kill, restarts
 * it and watches it count on. The test checks the demo's own claims against the numbers it prints
 * and that the counter it started is gone afterwards.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DemoTest {
    /** "  started /tmp/amber-demo-123/counter as pid 4242, counting into /tmp/amber-demo-123/counter.log" */
    private static final Pattern STARTED = Pattern.compile("(?m)^  started (/\\S*/amber-demo-[^/\\s]+)/counter as pid (\\d+),");

    @TempDir
    Path tmp;

    @Test
    void demo_counts_on() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: demo (AMBER_TEST_NOCR=1)");
        Amber.Running demo = Amber.start(tmp.resolve("tool"), "demo");
        try {
            Amber.Result r = demo.await(Duration.ofSeconds(120));
            assertEquals(0, r.exit(), r.describe());
            Matcher started = STARTED.matcher(r.stdout());
            assertTrue(started.find(), "no 'started ... as pid N' line\n" + r.describe());
            long pid = Long.parseLong(started.group(2));

            assertTrue(r.stdout().contains("demo passed"), r.describe());
            assertTrue(r.stdout().contains("counted on from"), r.describe());
            assertTrue(r.stdout().contains("  pid " + pid + " is gone\n"), "the checkpoint --kill ended pid " + pid + "\n" + r.describe());
            assertTrue(r.stdout().contains("  restarted pid " + pid + " from the image in "), r.describe());

            // Its claim, checked against what it printed: counted 1..A, then A+1..B with B > A + 2.
            List<Long> before = numbers(r.stdout(), "  counted:");
            List<Long> after = numbers(r.stdout(), "  counting on:");
            assertTrue(!before.isEmpty() && after.size() > 2, "too few numbers\n" + r.describe());
            for (int i = 0; i < before.size(); i++)
                assertEquals(i + 1L, (long) before.get(i), "counted before the checkpoint\n" + r.describe());
            for (int i = 0; i < after.size(); i++)
                assertEquals(before.getLast() + 1 + i, (long) after.get(i), "counted after the restart\n" + r.describe());
            String passed = "demo passed: pid " + pid + " came back and counted on from " + before.getLast() + " to "
                    + after.getLast() + " with no gap and no repeat";
            assertTrue(r.stdout().lines().anyMatch(passed::equals), "expected the line '" + passed + "'\n" + r.describe());
            assertEquals("", r.stderr(), r.describe());

            Procs.await(() -> !Procs.exists(pid), Duration.ofSeconds(10), "the demo's counter, pid " + pid + ", to be gone");
        } finally {
            demo.close();
            cleanUp(demo.stdoutSoFar());
        }
    }

    /** The numbers after {@code label} on its line ("  counted:        1 2 3"). */
    private static List<Long> numbers(String stdout, String label) {
        String line = stdout.lines().filter(l -> l.startsWith(label)).findFirst()
                .orElseThrow(() -> new AssertionError("no line '" + label + "'\n" + stdout));
        String rest = line.substring(label.length()).strip();
        return rest.isEmpty() ? List.of() : Stream.of(rest.split("\\s+")).map(Long::parseLong).toList();
    }

    /** Kills the demo's counter if it is still there (by pid, only while it runs the demo's binary) and removes its work directory. */
    private static void cleanUp(String stdout) throws IOException {
        Matcher started = STARTED.matcher(stdout);
        if (!started.find())
            return;
        Path work = Path.of(started.group(1));
        long pid = Long.parseLong(started.group(2));
        if (work.resolve("counter").toString().equals(Procs.exe(pid))) {
            try {
                Procs.signal(pid, "KILL");
            } catch (InterruptedException | AssertionError e) {
                // gone meanwhile
            }
        }
        if (work.getFileName().toString().startsWith("amber-demo-") && Files.isDirectory(work)) {
            try (Stream<Path> s = Files.walk(work)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList())
                    Files.deleteIfExists(p);
            }
        }
    }
}
