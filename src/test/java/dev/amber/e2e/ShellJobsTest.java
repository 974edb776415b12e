package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
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
 * Real shells, run as a user would: a pipeline (a counting loop piped into {@code cat -n}) and a
 * shell with two background jobs, each checkpointed with --kill mid-run (a {@code sleep} child is
 * usually in flight), restarted, and left to finish. Their output must be complete and in order:
 * every number once, none lost in the pipe, none written twice.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ShellJobsTest {
    private static final int COUNT = 150;

    @TempDir
    Path tmp;

    @Test
    void pipeline() throws Exception {
        String loop = "i=0; while [ $i -lt " + COUNT + " ]; do echo $i; i=$((i+1)); sleep 0.02; done | cat -n > out.txt";
        try (Target t = Target.command(tmp, "pipeline", "/bin/sh", "-c", loop)) {
            Path out = tmp.resolve("cwd/out.txt");
            checkpointMidway(t, () -> lines(out).size() >= 20);
            assertEquals(0, t.awaitExit(Duration.ofSeconds(60)), "sh exit status\n" + t.logText());
            List<String> got = lines(out);
            assertEquals(COUNT, got.size(), "lines of out.txt\n" + got);
            for (int i = 0; i < COUNT; i++) {
                assertEquals((i + 1) + "\t" + i, got.get(i).strip(), "line " + (i + 1) + " of out.txt");
            }
        }
    }

    @Test
    void background_jobs() throws Exception {
        String job = "i=0; while [ $i -lt " + COUNT + " ]; do echo %s$i >> %s.txt; i=$((i+1)); sleep 0.02; done";
        String script = "(" + job.formatted("a", "a") + ") & (" + job.formatted("b", "b") + ") & wait; echo done > done.txt";
        try (Target t = Target.command(tmp, "jobs", "/bin/sh", "-c", script)) {
            Path a = tmp.resolve("cwd/a.txt");
            checkpointMidway(t, () -> lines(a).size() >= 20);
            assertEquals(0, t.awaitExit(Duration.ofSeconds(60)), "sh exit status\n" + t.logText());
            for (String name : List.of("a", "b")) {
                List<String> got = lines(tmp.resolve("cwd/" + name + ".txt"));
                List<String> want = new ArrayList<>();
                for (int i = 0; i < COUNT; i++) {
                    want.add(name + i);
                }
                assertEquals(want, got, name + ".txt");
            }
            assertEquals(List.of("done"), lines(tmp.resolve("cwd/done.txt")), "done.txt after both jobs");
        }
    }

    /** Waits until the job is well under way, then checkpoints it with --kill and restarts it. */
    private void checkpointMidway(Target t, java.util.function.BooleanSupplier underway) throws Exception {
        Procs.await(underway, Duration.ofSeconds(20), t.name + " to be under way");
        if (Amber.nocr()) {
            return;
        }
        int before = TreeTest.tree(t.pid).size();
        assertTrue(before >= 2, "a tree: " + TreeTest.tree(t.pid));
        Path image = tmp.resolve("image");
        t.checkpointKill(image);
        t.restart(image);
    }

    private static List<String> lines(Path p) {
        try {
            return Files.exists(p) ? Files.readAllLines(p) : List.of();
        } catch (IOException e) {
            return List.of();
        }
    }
}
