package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * A real program run twice as its users run it, each time in a fresh directory prepared alike
 * ({@code DIR/cwd}, standard input /dev/null, standard output and error appended to
 * {@code DIR/NAME.log}): once straight through (the reference), and once checkpointed with
 * {@code --kill} when it is under way, restarted with {@code --wait} and left to finish. Both
 * start together, so the reference runs on a machine as busy as the other run's. What each run
 * left behind is then compared byte for byte ({@link #assertSame}).
 */
final class TwinRuns {
    static final Duration UNDERWAY_TIMEOUT = Duration.ofSeconds(30);
    static final Duration FINISH_TIMEOUT = Duration.ofSeconds(90);

    /** What the program needs in its working directory before it starts. */
    interface Setup {
        void into(Path cwd) throws IOException;
    }

    /**
     * The program: its command (run in DIR/cwd), its setup, when it counts as under way (asked of
     * DIR) and a measure of its progress (of DIR, growing as it works: the size of its output, say).
     */
    record Program(String name, List<String> command, Setup setup, Predicate<Path> underway,
            ToLongFunction<Path> progress) {}

    final Program program;
    final Path reference;
    final Path restored;
    private long progressAtKill = -1;

    private TwinRuns(Program program, Path tmp) {
        this.program = program;
        this.reference = tmp.resolve("reference");
        this.restored = tmp.resolve("restored");
    }

    /** Runs the program both ways; returns once both exited 0. */
    static TwinRuns run(Path tmp, Program program) throws IOException, InterruptedException {
        TwinRuns runs = new TwinRuns(program, tmp);
        program.setup().into(Files.createDirectories(runs.reference.resolve("cwd")));
        program.setup().into(Files.createDirectories(runs.restored.resolve("cwd")));
        String[] command = program.command().toArray(String[]::new);
        try (Target ref = Target.command(runs.reference, program.name(), command);
                Target cr = Target.command(runs.restored, program.name(), command)) {
            try {
                runs.finish(tmp, ref, cr);
            } finally {
                killDescendants(ref.pid);
                killDescendants(cr.pid);
            }
        }
        runs.assertCheckpointedMidWork();
        return runs;
    }

    /** Checkpoints the second run once it is under way, restarts it, and waits for both to end. */
    private void finish(Path tmp, Target ref, Target cr) throws IOException, InterruptedException {
        Procs.await(() -> program.underway().test(restored), UNDERWAY_TIMEOUT, program.name() + " to be under way");
        if (!Amber.nocr()) {
            Path image = tmp.resolve("image");
            cr.checkpointKill(image);
            progressAtKill = program.progress().applyAsLong(restored);
            cr.restart(image);
        }
        assertEquals(0, ref.awaitExit(FINISH_TIMEOUT), program.name() + " (reference) exit status\n" + ref.logText());
        assertEquals(0, cr.awaitExit(FINISH_TIMEOUT), program.name() + " (restarted) exit status\n" + cr.logText());
    }

    /**
     * What is left of a run's tree after a failure: Target ends only the root, and its children
     * would run on (or wait forever) once orphaned. Read from /proc children, so only ours.
     */
    private static void killDescendants(long root) {
        for (long pid : TreeTest.tree(root).keySet()) {
            if (pid == root)
                continue;
            try {
                Procs.signal(pid, "KILL");
            } catch (IOException | InterruptedException | AssertionError e) {
                // gone meanwhile
            }
        }
    }

    /** The checkpoint came before the end: the killed run had made less progress than a whole run. */
    private void assertCheckpointedMidWork() {
        if (progressAtKill < 0)
            return;
        long whole = program.progress().applyAsLong(reference);
        assertTrue(progressAtKill < whole, program.name() + ": progress " + progressAtKill
                + " at the checkpoint, not less than a whole run's " + whole + ": checkpointed too late to test anything");
    }

    /** The file at {@code rel} (relative to DIR: "NAME.log", "cwd/out.gz") is the same in both runs. */
    void assertSame(String rel) throws IOException {
        Path want = reference.resolve(rel);
        Path got = restored.resolve(rel);
        long at = Files.mismatch(want, got);
        if (at >= 0)
            throw new AssertionError(program.name() + ": " + rel + " differs from the reference's at byte " + at
                    + " (sizes " + Files.size(want) + " and " + Files.size(got) + ")\n--- reference\n" + around(want, at)
                    + "\n--- restarted\n" + around(got, at));
    }

    /** The log of the program's standard output and error is the same in both runs. */
    void assertSameLog() throws IOException {
        assertSame(program.name() + ".log");
    }

    /** Up to 200 bytes either side of offset, as text. */
    private static String around(Path file, long offset) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(file)) {
            long from = Math.max(0, offset - 200);
            var buf = java.nio.ByteBuffer.allocate(400);
            ch.read(buf, from);
            return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
        }
    }

    /** The lines of a file, or none while it does not exist yet. */
    static List<String> lines(Path p) {
        try {
            return Files.exists(p) ? Files.readAllLines(p) : List.of();
        } catch (IOException e) {
            return List.of(); // being written: not under way yet
        }
    }

    /** The size of a file, 0 while it does not exist yet. */
    static long size(Path p) {
        try {
            return Files.exists(p) ? Files.size(p) : 0;
        } catch (IOException e) {
            return 0;
        }
    }
}
