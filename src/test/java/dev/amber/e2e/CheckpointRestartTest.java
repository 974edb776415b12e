package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One checkpoint/restart test per target program (src/test/c/NAME.c, test NAME): start it, wait
 * for READY, snapshot /proc, {@code checkpoint --kill}, {@code restart --wait}, snapshot again and
 * compare, SIGTERM (unless the target finishes by itself), and expect exit 0 with PASS.
 * With AMBER_TEST_NOCR=1 the checkpoint and restart are skipped, which checks the targets alone.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CheckpointRestartTest {
    @TempDir
    Path tmp;

    /** How a target is run: its arguments, whether it ends by itself, how long to wait before checkpointing. */
    private record Spec(String name, List<String> args, boolean selfFinishing, Duration delay, boolean writing) {
        static Spec waitsig(String name, String... args) {
            return new Spec(name, List.of(args), false, Duration.ZERO, false);
        }

        static Spec sleeper(String name, String... args) {
            return new Spec(name, List.of(args), true, Duration.ofSeconds(1), false);
        }
    }

    private void checkpointRestart(Spec spec) throws Exception {
        try (Target t = Target.start(tmp, spec.name(), spec.args().toArray(String[]::new))) {
            t.awaitReady();
            Thread.sleep(spec.delay().toMillis());
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            assertSame(before, t, spec.writing());
            if (!spec.selfFinishing())
                t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /**
     * The whole round trip for a target that waits for SIGTERM: READY, snapshot, checkpoint
     * --kill, restart --wait, compare /proc, SIGTERM, expect PASS.
     */
    static void roundTrip(Path dir, String name, String... args) throws Exception {
        try (Target t = Target.start(dir, name, args)) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                Path image = dir.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            assertSame(before, t);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /**
     * For a target that checks itself and waits for SIGTERM: READY, a checkpoint that leaves it
     * running, then checkpoint --kill and restart, SIGTERM, expect PASS.
     */
    static void leftRunningThenRestarted(Path dir, String name, String... args) throws Exception {
        try (Target t = Target.start(dir, name, args)) {
            t.awaitReady();
            if (!Amber.nocr()) {
                Amber.Result first = t.run("checkpoint", Long.toString(t.pid), "-D", dir.resolve("first").toString());
                org.junit.jupiter.api.Assertions.assertEquals(0, first.exit(), first.describe());
                Path image = dir.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    static void assertSame(ProcSnapshot before, Target t) throws IOException {
        assertSame(before, t, false);
    }

    /** writing: the target keeps writing to its files, so fd offsets are not compared. */
    static void assertSame(ProcSnapshot before, Target t, boolean writing) throws IOException {
        UnaryOperator<ProcSnapshot> view = writing ? ProcSnapshot::withoutPositions : UnaryOperator.identity();
        assertSame(view.apply(before), t, view);
    }

    /**
     * {@code before} as seen through {@code view} equals the restored process's snapshot seen the
     * same way. A restored task first re-enters the call it was in (sigsuspend sets its temporary
     * mask only then): compare until equal, for a short while, and report the last difference.
     */
    static void assertSame(ProcSnapshot before, Target t, UnaryOperator<ProcSnapshot> view) throws IOException {
        String diff = "";
        for (int attempt = 0; attempt < 40; attempt++) {
            diff = before.diff(view.apply(t.snapshot()));
            if (diff.isEmpty()) {
                break;
            }
            try {
                Thread.sleep(25);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        assertEquals("", diff, "/proc of pid " + t.pid + " (" + t.name + ") differs after restart:\n" + diff);
    }

    @Test
    void mem_anon() throws Exception {
        checkpointRestart(Spec.waitsig("mem_anon"));
    }

    @Test
    void mem_file_private() throws Exception {
        checkpointRestart(Spec.waitsig("mem_file_private"));
    }

    /** Guard regions (MADV_GUARD_INSTALL): not read at checkpoint, installed again at restart. */
    @Test
    void mem_guard() throws Exception {
        checkpointRestart(Spec.waitsig("mem_guard"));
    }

    @Test
    void mem_file_shared() throws Exception {
        checkpointRestart(Spec.waitsig("mem_file_shared"));
    }

    @Test
    void mem_shared_anon() throws Exception {
        checkpointRestart(Spec.waitsig("mem_shared_anon"));
    }

    @Test
    void vdso() throws Exception {
        checkpointRestart(Spec.waitsig("vdso"));
    }

    @Test
    void mm_bounds() throws Exception {
        checkpointRestart(Spec.waitsig("mm_bounds", "first", "second argument", ""));
    }

    @Test
    void fpu_regs() throws Exception {
        checkpointRestart(Spec.waitsig("fpu_regs"));
    }

    @Test
    void sleep_nanosleep() throws Exception {
        checkpointRestart(Spec.sleeper("sleep_nanosleep"));
    }

    @Test
    void sleep_clock_nanosleep_rel() throws Exception {
        checkpointRestart(Spec.sleeper("sleep_clock_nanosleep", "rel"));
    }

    @Test
    void sleep_clock_nanosleep_abs() throws Exception {
        checkpointRestart(Spec.sleeper("sleep_clock_nanosleep", "abs"));
    }

    @Test
    void sleep_poll() throws Exception {
        checkpointRestart(Spec.sleeper("sleep_poll"));
    }

    @Test
    void sleep_pause() throws Exception {
        checkpointRestart(Spec.waitsig("sleep_pause"));
    }

    @Test
    void sleep_sigsuspend() throws Exception {
        checkpointRestart(Spec.waitsig("sleep_sigsuspend"));
    }

    @Test
    void signals() throws Exception {
        checkpointRestart(Spec.waitsig("signals"));
    }

    @Test
    void itimers() throws Exception {
        checkpointRestart(Spec.waitsig("itimers"));
    }

    @Test
    void files() throws Exception {
        checkpointRestart(Spec.waitsig("files"));
    }

    @Test
    void identity() throws Exception {
        checkpointRestart(Spec.waitsig("identity"));
    }

    @Test
    void credentials() throws Exception {
        checkpointRestart(Spec.waitsig("credentials"));
    }

    /** oom_score_adj and membarrier registrations. */
    @Test
    void oom_membarrier() throws Exception {
        checkpointRestart(Spec.waitsig("oom_membarrier"));
    }

    /** Threads whose credentials differ from the main thread's (raw setresuid/setresgid/setgroups). */
    @Test
    void thread_creds() throws Exception {
        checkpointRestart(Spec.waitsig("thread_creds"));
    }

    @Test
    void counter() throws Exception {
        checkpointRestart(new Spec("counter", List.of(), false, Duration.ofMillis(300), true));
    }

    /** The last value counter.c wrote, 0 before the first. */
    static long lastCount(Target t) throws IOException {
        Path file = t.dir.resolve("cwd/counter.txt");
        List<String> lines = Files.exists(file) ? Files.readAllLines(file) : List.of();
        for (int i = lines.size() - 1; i >= 0; i--)
            if (!lines.get(i).isBlank())
                return Long.parseLong(lines.get(i).trim());
        return 0;
    }

    static void awaitCountAbove(Target t, long value) throws InterruptedException {
        Procs.await(() -> {
            try {
                return lastCount(t) > value + 2;
            } catch (IOException | NumberFormatException e) {
                return false; // a line being written
            }
        }, Duration.ofSeconds(10), t.name + " to count past " + value);
    }

    /** checkpoint without --kill: the original runs on, counting with no gap and no repeat. */
    @Test
    void counter_checkpoint_without_kill() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: checkpoint without --kill (AMBER_TEST_NOCR=1)");
        try (Target t = Target.start(tmp, "counter")) {
            t.awaitReady();
            awaitCountAbove(t, 3);
            ProcSnapshot before = t.snapshot();
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("image").toString());
            assertEquals(0, r.exit(), r.describe());
            Target.assertImage(tmp.resolve("image"), r);
            assertTrue(Procs.runsFree(t.pid), "pid " + t.pid + " not running free after checkpoint (state "
                    + Procs.state(t.pid) + ", TracerPid " + Procs.status(t.pid, "TracerPid") + ")");
            assertSame(before, t, true);
            awaitCountAbove(t, lastCount(t));
            Amber.Result show = t.run("show", tmp.resolve("image").toString());
            assertEquals(0, show.exit(), show.describe());
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /** checkpoint --kill, restart, twice: the restored process can be checkpointed again. */
    @Test
    void counter_twice() throws Exception {
        try (Target t = Target.start(tmp, "counter")) {
            t.awaitReady();
            awaitCountAbove(t, 3);
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                for (int round = 1; round <= 2; round++) {
                    Path image = tmp.resolve("image" + round);
                    t.checkpointKill(image);
                    long at = lastCount(t);
                    t.restart(image);
                    assertSame(before, t, true);
                    awaitCountAbove(t, at);
                }
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }
}
