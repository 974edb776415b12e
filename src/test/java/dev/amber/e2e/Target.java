package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One running target program, followed across checkpoints and restarts under the same pid.
 *
 * The original is a child of the test JVM; after a restart the process with that pid is the
 * child of the {@code amber restart --wait} run, which reports its exit status. {@link #close}
 * kills whatever of this is still alive, by pid, and only processes this object started (a
 * restored pid is killed only while /proc/PID/exe is still the target binary).
 */
final class Target implements AutoCloseable {
    static final Duration READY_TIMEOUT = Duration.ofSeconds(10);
    static final Duration TOOL_TIMEOUT = Duration.ofSeconds(120);

    final String name;
    final Path binary;
    final Path dir;
    final Path log;
    final long pid;
    private final Process original;
    private Amber.Running restart; // holds the restored process, null while the original runs
    private final List<Amber.Running> tools = new ArrayList<>();

    private Target(String name, Path binary, Path dir, Path log, Process original) {
        this.name = name;
        this.binary = binary;
        this.dir = dir;
        this.log = log;
        this.original = original;
        this.pid = original.pid();
    }

    /** Starts the target with cwd dir/cwd and stdout+stderr appended to dir/NAME.log. */
    static Target start(Path dir, String name, String... args) throws IOException, InterruptedException {
        Path binary = Targets.binary(name);
        List<String> cmd = new ArrayList<>();
        cmd.add(binary.toString());
        cmd.addAll(List.of(args));
        return launch(dir, name, binary, cmd);
    }

    /**
     * Starts a command that is not one of the C targets (a shell pipeline, say) like {@link #start}:
     * cwd dir/cwd, stdin /dev/null, stdout+stderr appended to dir/NAME.log.
     */
    static Target command(Path dir, String name, String... command) throws IOException {
        return launch(dir, name, Path.of(command[0]).toRealPath(), List.of(command));
    }

    private static Target launch(Path dir, String name, Path binary, List<String> cmd) throws IOException {
        Path cwd = Files.createDirectories(dir.resolve("cwd"));
        Path log = dir.resolve(name + ".log");
        Process p = new ProcessBuilder(cmd)
                .directory(cwd.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true)
                .start();
        return new Target(name, binary, dir, log, p);
    }

    /**
     * Starts a C target whose standard input and output are pipes the test holds the other ends
     * of ({@link #stdin}, {@link #stdout}): a process outside the tree. Its standard error is
     * appended to dir/NAME.log, where it says READY and PASS.
     */
    static Target startPiped(Path dir, String name, String... args) throws IOException, InterruptedException {
        Path binary = Targets.binary(name);
        List<String> cmd = new ArrayList<>();
        cmd.add(binary.toString());
        cmd.addAll(List.of(args));
        Path cwd = Files.createDirectories(dir.resolve("cwd"));
        Path log = dir.resolve(name + ".log");
        Process p = new ProcessBuilder(cmd)
                .directory(cwd.toFile())
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        return new Target(name, binary, dir, log, p);
    }

    /**
     * Starts a C target like {@link #start}, but through {@code wrapper} (a shell command line
     * that makes descriptors and execs its arguments, the target then): the target keeps the pid.
     */
    static Target startWrapped(Path dir, String name, List<String> wrapper, String... args)
            throws IOException, InterruptedException {
        Path binary = Targets.binary(name);
        List<String> cmd = new ArrayList<>(wrapper);
        cmd.add(binary.toString());
        cmd.addAll(List.of(args));
        return launch(dir, name, binary, cmd);
    }

    /** With {@link #startPiped}: the write end of the target's standard input. */
    java.io.OutputStream stdin() {
        return original.getOutputStream();
    }

    /** With {@link #startPiped}: the read end of the target's standard output. */
    java.io.InputStream stdout() {
        return original.getInputStream();
    }

    /** A tool run through a wrapper command that execs it ({@link Amber#start(Path, List, String...)}), owned like {@link #tool}. */
    Amber.Running toolWrapped(List<String> wrapper, String... args) throws IOException {
        Amber.Running r = Amber.start(dir.resolve("tool"), wrapper, args);
        tools.add(r);
        return r;
    }

    /** A tool run with two pipes of the test's as its fds 3 and 4 ({@link Amber#startPiped}), owned like {@link #tool}. */
    Amber.Running toolPiped(String... args) throws IOException {
        Amber.Running r = Amber.startPiped(dir.resolve("tool"), args);
        tools.add(r);
        return r;
    }

    Target awaitReady() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!logLines().contains("READY")) {
            if (!original.isAlive())
                throw new AssertionError(name + " exited " + original.exitValue() + " before READY\n" + logText());
            if (System.nanoTime() > deadline)
                throw new AssertionError(name + ": no READY within " + READY_TIMEOUT + "\n" + logText());
            Thread.sleep(10);
        }
        return this;
    }

    List<String> logLines() throws IOException {
        return Files.exists(log) ? Files.readAllLines(log) : List.of();
    }

    String logText() throws IOException {
        return "--- " + log + "\n" + String.join("\n", logLines()) + "\n";
    }

    ProcSnapshot snapshot() throws IOException {
        return ProcSnapshot.take(pid);
    }

    /** A tool run whose lifetime this target owns (killed in close). */
    Amber.Running tool(String... args) throws IOException {
        return tool(List.of(), args);
    }

    /** A tool run under a wrapper command that execs it ({@code prlimit --nofile=N:N}, say). */
    Amber.Running tool(List<String> wrapper, String... args) throws IOException {
        Amber.Running r = Amber.start(dir.resolve("tool"), wrapper, args);
        tools.add(r);
        return r;
    }

    Amber.Result run(String... args) throws IOException, InterruptedException {
        return tool(args).await(TOOL_TIMEOUT);
    }

    /** checkpoint --kill, then waits until the pid is gone (reaped by whoever is the parent). */
    void checkpointKill(Path image) throws IOException, InterruptedException {
        Amber.Result r = run("checkpoint", Long.toString(pid), "-D", image.toString(), "--kill");
        assertEquals(0, r.exit(), r.describe() + logText());
        assertImage(image, r);
        if (restart == null) {
            if (!original.waitFor(10, TimeUnit.SECONDS))
                throw new AssertionError("pid " + pid + " still alive 10 s after checkpoint --kill\n" + r.describe());
        } else {
            Amber.Result w = restart.await(Duration.ofSeconds(10));
            assertEquals(128 + 9, w.exit(), "restart --wait of a process killed by SIGKILL:\n" + w.describe());
            restart = null;
        }
        Procs.await(() -> !Procs.exists(pid), Duration.ofSeconds(10), "pid " + pid + " to disappear");
    }

    /**
     * checkpoint without --kill, so the original runs on for {@code runOn}; then SIGKILL to the
     * original and waits until its pid is gone, ready for a restart of the image.
     */
    void checkpointThenKill(Path image, Duration runOn) throws IOException, InterruptedException {
        if (restart != null)
            throw new IllegalStateException("checkpointThenKill works on the original only");
        Amber.Result r = run("checkpoint", Long.toString(pid), "-D", image.toString());
        assertEquals(0, r.exit(), r.describe() + logText());
        assertImage(image, r);
        Thread.sleep(runOn.toMillis());
        if (!original.isAlive())
            throw new AssertionError("pid " + pid + " ended after a checkpoint that leaves it running\n" + logText());
        original.destroyForcibly();
        if (!original.waitFor(10, TimeUnit.SECONDS))
            throw new AssertionError("pid " + pid + " still alive 10 s after SIGKILL");
        Procs.await(() -> !Procs.exists(pid), Duration.ofSeconds(10), "pid " + pid + " to disappear");
    }

    /** A finished image has its inventory (docs/image-format.md: written last). */
    static void assertImage(Path image, Amber.Result r) {
        if (!Files.isRegularFile(image.resolve("inventory.pb")))
            throw new AssertionError("checkpoint exited 0 but " + image + " has no inventory.pb\n" + r.describe());
    }

    /** restart --wait in the background; returns once the pid runs free as our binary again. */
    void restart(Path image) throws IOException, InterruptedException {
        restart(image, List.of());
    }

    /** {@link #restart(Path)} with the tool run under {@code wrapper}. */
    void restart(Path image, List<String> wrapper) throws IOException, InterruptedException {
        assertFalse(Procs.exists(pid), "pid " + pid + " exists before restart");
        restarted(tool(wrapper, "restart", "-D", image.toString(), "--wait"));
    }

    /** Follows a restart --wait started by the caller (with options of its own); returns once the pid runs free. */
    void restarted(Amber.Running r) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TOOL_TIMEOUT.toNanos();
        while (!(binary.toString().equals(Procs.exe(pid)) && Procs.runsFree(pid))) {
            if (!r.isAlive())
                throw new AssertionError("restart exited before pid " + pid + " ran\n" + r.result().describe() + logText());
            if (System.nanoTime() > deadline)
                throw new AssertionError("pid " + pid + " not running free " + TOOL_TIMEOUT + " after restart (state "
                        + Procs.state(pid) + ", TracerPid " + Procs.status(pid, "TracerPid") + ", exe " + Procs.exe(pid)
                        + ")\n--- restart stderr\n" + r.stderrSoFar() + logText());
            Thread.sleep(10);
        }
        // A restored process stopped in a blocking call re-enters it when let go; a handled signal
        // that comes before it has (a window of microseconds) runs its handler and the call then
        // blocks anew instead of returning EINTR (see the README's limits). Give it the moment.
        long settle = System.nanoTime() + Duration.ofMillis(300).toNanos();
        while (Procs.state(pid) == 'R' && System.nanoTime() < settle) {
            Thread.sleep(5);
        }
        restart = r;
    }

    /** The {@code restart --wait} run that holds the restored process (null while the original runs). */
    Amber.Running restartRun() {
        return restart;
    }

    void sigterm() throws IOException, InterruptedException {
        Procs.signal(pid, "TERM");
    }

    /** Waits for the target's end (original or restored) and returns its exit status. */
    int awaitExit(Duration timeout) throws IOException, InterruptedException {
        if (restart == null) {
            if (!original.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS))
                throw new AssertionError(name + ": no exit within " + timeout + "\n" + logText());
            return original.exitValue();
        }
        Amber.Result r = restart.await(timeout);
        return r.exit();
    }

    /** Exit 0 and PASS as the last line of the log. */
    void assertPassed(int exit) throws IOException {
        List<String> lines = logLines();
        String last = lines.isEmpty() ? "" : lines.getLast();
        assertEquals(0, exit, name + " exit status\n" + logText());
        assertEquals("PASS", last, name + " last log line\n" + logText());
    }

    /** The current holder of the pid (the JVM or a restart run) still waits for it. */
    boolean isAlive() {
        return restart == null ? original.isAlive() : restart.isAlive() && Procs.exists(pid);
    }

    @Override
    public void close() {
        if (original.isAlive()) {
            original.destroyForcibly();
            try {
                original.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (binary.toString().equals(Procs.exe(pid))) {
            try {
                Procs.signal(pid, "KILL");
            } catch (IOException | InterruptedException | AssertionError e) {
                // gone meanwhile
            }
        }
        for (Amber.Running t : tools)
            t.close();
    }
}
