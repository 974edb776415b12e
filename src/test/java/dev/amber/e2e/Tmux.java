package dev.amber.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A tmux server of the test's own (its socket in the test's directory) with one pane running an
 * interactive bash, driven as a person would: keys sent, the screen read with capture-pane.
 * {@link #close} ends the server, which hangs up the pane's shell and its jobs.
 */
final class Tmux implements AutoCloseable {
    private final Path socket;
    private final Path dir;

    private Tmux(Path dir) {
        this.dir = dir;
        this.socket = dir.resolve("tmux.sock");
    }

    /** A detached session, {@code cols} x {@code rows}, whose pane runs {@code bash -i} with the prompt "$ ". */
    static Tmux start(Path dir, int cols, int rows) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Tmux t = new Tmux(dir);
        t.run("new-session", "-d", "-x", Integer.toString(cols), "-y", Integer.toString(rows),
                "env PS1='$ ' bash --norc --noprofile -i");
        t.awaitScreen(s -> s.contains("$"), Duration.ofSeconds(10), "the shell's prompt");
        return t;
    }

    String run(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("tmux", "-S", socket.toString()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "tmux-", ".out");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("TERM", "xterm");
        pb.environment().remove("TMUX");
        Process p = pb.start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("tmux " + String.join(" ", args) + ": no exit within 20 s");
        }
        String text = Files.readString(out);
        Files.delete(out);
        if (p.exitValue() != 0)
            throw new AssertionError("tmux " + String.join(" ", args) + " exited " + p.exitValue() + ": " + text);
        return text;
    }

    /** Types {@code keys} (tmux key names: "Enter", "C-z"; other words are typed as they are). */
    void send(String... keys) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("send-keys", "-t", "0"));
        args.addAll(List.of(keys));
        run(args.toArray(String[]::new));
    }

    /** Types a command line and Enter. */
    void type(String line) throws IOException, InterruptedException {
        run("send-keys", "-t", "0", "-l", line);
        send("Enter");
    }

    /** What the pane shows now, with its scrollback, trailing blank lines dropped. */
    String screen() throws IOException, InterruptedException {
        return run("capture-pane", "-p", "-J", "-S", "-500", "-t", "0").stripTrailing();
    }

    /** The pid of the pane's shell. */
    long shellPid() throws IOException, InterruptedException {
        return Long.parseLong(run("list-panes", "-t", "0", "-F", "#{pane_pid}").trim());
    }

    String awaitScreen(Predicate<String> ok, Duration timeout, String what) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String s = screen();
        while (!ok.test(s)) {
            if (System.nanoTime() > deadline)
                throw new AssertionError("the pane did not show " + what + " within " + timeout + ":\n" + s);
            Thread.sleep(100);
            s = screen();
        }
        return s;
    }

    @Override
    public void close() {
        try {
            run("kill-server");
        } catch (IOException | InterruptedException | AssertionError e) {
            // gone already
        }
    }

    /** One shell word: {@code 'arg'} with every quote in it escaped. */
    static String quote(String arg) {
        return "'" + arg.replace("'", "'\\''") + "'";
    }
}
