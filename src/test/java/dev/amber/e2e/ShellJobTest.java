package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --shell-job} as a person uses it, in a tmux pane: a job (shell_job.c, terminal in raw
 * mode, ticking) started from the pane's bash is checkpointed with {@code --kill --shell-job},
 * restarted from the same bash with {@code amber restart --shell-job}, and goes on ticking from
 * its count in the foreground of the pane; a typed line reaches it; Ctrl-Z stops it (bash says
 * Stopped), {@code fg} brings it back, Ctrl-C ends it and amber with it.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ShellJobTest {
    private static final Pattern TICK = Pattern.compile("tick (\\d+)");

    @TempDir
    Path tmp;

    @Test
    void shell_job_in_tmux() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine (AMBER_TEST_NOCR=1)");
        Path binary = Targets.binary("shell_job");
        long job = -1;
        try (Tmux tmux = Tmux.start(tmp.resolve("tmux"), 120, 40)) {
            long shell = tmux.shellPid();
            tmux.type(Tmux.quote(binary.toString()));
            tmux.awaitScreen(s -> lastTick(s) >= 2, Duration.ofSeconds(10), "tick 2");
            job = child(shell);

            Path image = tmp.resolve("image");
            Amber.Result r = Amber.run(Target.TOOL_TIMEOUT, tmp.resolve("tool"), "checkpoint", Long.toString(job), "-D",
                    image.toString(), "--kill", "--shell-job");
            assertEquals(0, r.exit(), r.describe());
            long gone = job;
            Procs.await(() -> !Procs.exists(gone), Duration.ofSeconds(10), "pid " + job + " to be reaped by bash");
            String killed = tmux.awaitScreen(s -> s.endsWith("$"), Duration.ofSeconds(10), "the prompt after the kill");
            long saved = lastTick(killed);

            List<String> restart = new ArrayList<>(Amber.command("restart", "-D", image.toString(), "--shell-job"));
            tmux.type(String.join(" ", restart.stream().map(Tmux::quote).toList()) + "; echo AMBER-EXIT=$?");
            String back = tmux.awaitScreen(s -> after(s, "restarted pid").contains("tick " + (saved + 2)),
                    Duration.ofSeconds(60), "tick " + (saved + 2) + " after the restart");
            assertTrue(!after(back, "restarted pid").contains("tick 0\n"), "the job started counting again:\n" + back);
            assertEquals(binary.toString(), Procs.exe(job), "pid " + job + " is the restored job");
            assertEquals(Procs.statField(job, 5), Procs.statField(job, 8),
                    "the job's group is the terminal's foreground group (tpgid)");

            tmux.type("hello");
            tmux.awaitScreen(s -> s.contains("got: hello"), Duration.ofSeconds(10), "the job's answer to a typed line");

            tmux.send("C-z");
            tmux.awaitScreen(s -> s.contains("Stopped"), Duration.ofSeconds(10), "bash's Stopped after Ctrl-Z");
            long stoppedJob = job;
            Procs.await(() -> Procs.state(stoppedJob) == 'T', Duration.ofSeconds(5), "the job to be stopped");
            long stoppedAt = lastTick(tmux.screen());

            tmux.type("fg");
            tmux.awaitScreen(s -> lastTick(s) >= stoppedAt + 2, Duration.ofSeconds(10), "ticks after fg");

            tmux.send("C-c");
            Procs.await(() -> !Procs.exists(stoppedJob), Duration.ofSeconds(10), "the job to end on Ctrl-C");
            tmux.awaitScreen(s -> s.endsWith("$"), Duration.ofSeconds(20), "the prompt after Ctrl-C");
        } finally {
            if (job > 0 && binary.toString().equals(Procs.exe(job)))
                ScreenTest.kill(job);
        }
    }

    /** The highest tick on the screen, -1 when none. */
    private static long lastTick(String screen) {
        long last = -1;
        Matcher m = TICK.matcher(screen);
        while (m.find())
            last = Math.max(last, Long.parseLong(m.group(1)));
        return last;
    }

    private static String after(String screen, String marker) {
        int i = screen.lastIndexOf(marker);
        return i < 0 ? "" : screen.substring(i);
    }

    /** The one child of the pane's shell. */
    private static long child(long shell) throws Exception {
        Path children = Path.of("/proc", Long.toString(shell), "task", Long.toString(shell), "children");
        String text = Files.readString(children).trim();
        assertTrue(!text.isEmpty() && !text.contains(" "), "one child of the pane's shell " + shell + ": '" + text + "'");
        return Long.parseLong(text);
    }
}
