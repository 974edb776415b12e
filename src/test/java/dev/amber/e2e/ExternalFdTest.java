package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pipes shared with a process outside the tree (src/test/c/ext_pipe.c: standard input and output
 * are pipes whose other ends the test holds, as a shell or a CI runner would). Refused by default,
 * naming the holder and the options; declared with checkpoint --external-fd, they come back as
 * the descriptors amber restart is given with --inherit-fd fd[N]:pipe:[INODE] (the target's
 * writes after the restart reach the test through the new pipe), or with --external-closed as
 * pipes whose other end is closed (end of file after the bytes left; EPIPE and SIGPIPE).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ExternalFdTest {
    private static final Duration EXIT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    @BeforeEach
    void engine() {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine (AMBER_TEST_NOCR=1)");
    }

    @Test
    void refused_by_default_and_left_untouched() throws Exception {
        try (Target t = Target.startPiped(tmp, "ext_pipe", "ping", "open")) {
            t.awaitReady();
            String in = link(t.pid, 0), out = link(t.pid, 1);
            Path image = tmp.resolve("image");
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString());
            assertEquals(3, r.exit(), r.describe());
            long self = ProcessHandle.current().pid();
            String holder = "pid " + self + " (" + Files.readString(Path.of("/proc/" + self + "/comm")).strip() + ")";
            assertEquals(Set.of(refusal(t.pid, 0, in, holder), refusal(t.pid, 1, out, holder),
                    "amber: pid " + t.pid + " was not checkpointed and keeps running as it was"),
                    Set.copyOf(r.stderrLines()), r.describe());
            assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left an image");
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "the target to run free");
            Lines lines = new Lines(t.stdout());
            t.sigterm();
            assertEquals("parent fd 1", lines.next(), t.logText());
            ping(t.stdin());
            t.assertPassed(t.awaitExit(EXIT));
            assertTrue(t.logLines().contains("pipes same"), t.logText());
        }
    }

    private static String refusal(long pid, int fd, String pipe, String holder) {
        return "pid " + pid + " fd " + fd + ": " + pipe + ": shared with " + holder + " outside the tree: declare it"
                + " with --external-fd '" + pipe + "' and supply it at restart with --inherit-fd 'fd[N]:" + pipe
                + "' (or let it come back closed with --external-closed)";
    }

    @Test
    void inherited_pipes_carry_the_data_after_restart() throws Exception {
        try (Target t = Target.startPiped(tmp, "ext_pipe", "ping", "open")) {
            t.awaitReady();
            String in = link(t.pid, 0), out = link(t.pid, 1);
            Path image = checkpointKill(t, in, out);
            Amber.Running r = t.toolPiped("restart", "-D", image.toString(), "--wait", "--inherit-fd", "fd[3]:" + out,
                    "--inherit-fd", "fd[4]:" + in);
            t.restarted(r);
            assertEquals(link(r.pid(), 3), link(t.pid, 1), "fd 1 is amber restart's fd 3");
            assertEquals(link(r.pid(), 4), link(t.pid, 0), "fd 0 is amber restart's fd 4");
            Lines lines = new Lines(r.pipeOut());
            t.sigterm();
            assertEquals("parent fd 1", lines.next(), t.logText());
            ping(r.pipeIn());
            t.assertPassed(t.awaitExit(EXIT));
            assertTrue(t.logLines().contains("pipes new"), t.logText());
            assertEquals(List.of(), lines.rest(), "nothing else came through the pipe");
        }
    }

    /** --external-closed alone: every external pipe; "early" was written before the checkpoint, never read. */
    @Test
    void closed_pipes_read_end_of_file_and_write_epipe() throws Exception {
        try (Target t = Target.startPiped(tmp, "ext_pipe", "early", "closed")) {
            t.awaitReady();
            early(t);
            Path image = checkpointKill(t, link(t.pid, 0), link(t.pid, 1));
            String shown = show(t, image);
            assertTrue(shown.lines().anyMatch(l -> l.matches(" +0 +external +- +- +pipe:\\[[0-9]+\\], read end, 6 bytes"
                    + " buffered; supplied at restart \\(--inherit-fd or --external-closed\\)")), shown);
            t.restarted(t.tool("restart", "-D", image.toString(), "--wait", "--external-closed"));
            t.sigterm();
            t.assertPassed(t.awaitExit(EXIT));
        }
    }

    /** Per object: standard input comes back closed (its bytes, then end of file), standard output inherited. */
    @Test
    void one_closed_one_inherited() throws Exception {
        try (Target t = Target.startPiped(tmp, "ext_pipe", "early", "open")) {
            t.awaitReady();
            early(t);
            String in = link(t.pid, 0), out = link(t.pid, 1);
            Path image = checkpointKill(t, in, out);
            Amber.Running r = t.toolPiped("restart", "-D", image.toString(), "--wait", "--inherit-fd", "fd[3]:" + out,
                    "--external-closed", in);
            t.restarted(r);
            Lines lines = new Lines(r.pipeOut());
            t.sigterm();
            assertEquals("parent fd 1", lines.next(), t.logText());
            t.assertPassed(t.awaitExit(EXIT));
        }
    }

    /**
     * A child shares the stdout pipe (inherited fd 1, a dup, and a descriptor opened again through
     * /proc, which is an open file of its own); the parent has a dup. One descriptor given to
     * amber restart takes the pipe's place in both, and the child checks the sharing with kcmp.
     */
    @Test
    void a_tree_shares_one_inherited_pipe() throws Exception {
        try (Target t = Target.startPiped(tmp, "ext_pipe", "ping", "open", "tree")) {
            try {
                t.awaitReady();
                String in = link(t.pid, 0), out = link(t.pid, 1);
                Path image = checkpointKill(t, in, out);
                Amber.Running r = t.toolPiped("restart", "-D", image.toString(), "--wait", "--inherit-fd",
                        "fd[3]:" + out, "--inherit-fd", "fd[4]:" + in);
                t.restarted(r);
                Lines lines = new Lines(r.pipeOut());
                t.sigterm();
                List<String> got = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    got.add(lines.next());
                }
                assertEquals(Set.of("parent fd 7", "parent fd 1", "child fd 1", "child fd 5", "child fd 6"),
                        Set.copyOf(got), t.logText());
                ping(r.pipeIn());
                t.assertPassed(t.awaitExit(EXIT));
            } finally {
                killChildren(t);
            }
        }
    }

    /**
     * A restart that is not told what takes an external pipe's place fails before it creates
     * anything, naming the object and the options; so does one given a descriptor it does not
     * have, its JVM's own, one of the wrong direction, or an object the image does not have.
     * Then the right options restart it.
     */
    @Test
    void restart_without_supplying_fails_and_leaves_nothing() throws Exception {
        try (Target t = Target.startPiped(tmp, "ext_pipe", "ping", "open")) {
            t.awaitReady();
            String in = link(t.pid, 0), out = link(t.pid, 1);
            Path image = checkpointKill(t, in, out);
            String failed = "amber: restart from " + image + " failed: ";
            fails(t, failed + "pid " + t.pid + " fd 0: " + in + " is external (declared at checkpoint): supply it with"
                    + " --inherit-fd 'fd[N]:" + in + "', N a descriptor of amber restart, or let it come back as a pipe"
                    + " whose other end is closed with --external-closed", "--inherit-fd", "fd[3]:" + out);
            fails(t, failed + "--inherit-fd fd[200]:" + in + ": amber restart has no descriptor 200: open one for it as"
                    + " fd 200 (in a shell: 200>&1, 200<FILE, ...)", "--inherit-fd", "fd[200]:" + in, "--external-closed");
            Amber.Result wrong = t.toolPiped("restart", "-D", image.toString(), "--inherit-fd", "fd[4]:" + out,
                    "--external-closed").await(Target.TOOL_TIMEOUT);
            assertEquals(1, wrong.exit(), wrong.describe());
            assertTrue(wrong.stderr().startsWith(failed + "--inherit-fd fd[4]:" + out + ": pid " + t.pid + " fd 1 wrote"
                    + " to " + out + " but descriptor 4 of amber restart (pipe:[") && wrong.stderr().strip().endsWith(
                    ") is open read-only: give it one open for writing"), wrong.describe());
            fails(t, failed + "--inherit-fd fd[3]:pipe:[1]: the image has no external pipe:[1] (its external objects: "
                    + in + ", " + out + ")", "--inherit-fd", "fd[3]:pipe:[1]", "--external-closed");
            Amber.Result own = t.run("restart", "-D", image.toString(), "--inherit-fd", "fd[3]:" + in,
                    "--external-closed");
            assertEquals(1, own.exit(), own.describe());
            assertTrue(own.stderr().startsWith(failed + "--inherit-fd fd[3]:" + in + ": descriptor 3 of amber restart"
                    + " is one its JVM opened itself ("), own.describe());
            Amber.Running r = t.toolPiped("restart", "-D", image.toString(), "--wait", "--inherit-fd", "fd[3]:" + out,
                    "--inherit-fd", "fd[4]:" + in);
            t.restarted(r);
            Lines lines = new Lines(r.pipeOut());
            t.sigterm();
            assertEquals("parent fd 1", lines.next(), t.logText());
            ping(r.pipeIn());
            t.assertPassed(t.awaitExit(EXIT));
        }
    }

    /** Malformed names are usage errors (exit 2), before any process is looked at. */
    @Test
    void malformed_names_are_usage_errors() throws Exception {
        Path work = tmp.resolve("tool");
        Amber.Result file = Amber.run(Target.TOOL_TIMEOUT, work, "checkpoint", "1", "-D", tmp.resolve("i").toString(),
                "--external-fd", "/var/log/x");
        assertEquals(2, file.exit(), file.describe());
        assertEquals("amber: --external-fd '/var/log/x': name a pipe or socket as /proc/PID/fd shows it, e.g."
                + " 'pipe:[12345]' (a file is reopened by its path; a terminal outside the tree is --shell-job's)",
                file.stderr().strip());
        Amber.Result inherit = Amber.run(Target.TOOL_TIMEOUT, work, "restart", "-D", tmp.toString(), "--inherit-fd",
                "3:pipe:[1]");
        assertEquals(2, inherit.exit(), inherit.describe());
        assertEquals("amber: --inherit-fd '3:pipe:[1]': expected fd[N]:OBJECT, N a descriptor of amber restart and"
                + " OBJECT an external pipe or socket of the image, e.g. fd[3]:pipe:[12345]", inherit.stderr().strip());
        Amber.Result twice = Amber.run(Target.TOOL_TIMEOUT, work, "restart", "-D", tmp.toString(), "--inherit-fd",
                "fd[3]:pipe:[1]", "--external-closed=pipe:[1]");
        assertEquals(2, twice.exit(), twice.describe());
        assertEquals("amber: --external-closed pipe:[1]: it is given with --inherit-fd too", twice.stderr().strip());
    }

    private static void fails(Target t, String message, String... options) throws Exception {
        List<String> args = new ArrayList<>(List.of("restart", "-D", t.dir.resolve("image").toString()));
        args.addAll(List.of(options));
        Amber.Running run = t.toolPiped(args.toArray(String[]::new));
        Amber.Result r = run.await(Target.TOOL_TIMEOUT);
        assertEquals(1, r.exit(), r.describe());
        assertTrue(r.stderr().strip().startsWith(message), "expected " + message + "\n" + r.describe());
        assertFalse(Procs.exists(t.pid), "pid " + t.pid + " exists after a failed restart");
    }

    /**
     * A socket (a TCP connection to the test, made by bash's /dev/tcp for the target and for amber
     * restart) declared external: saved by name only, though an established connection could not be
     * saved, and replaced by amber restart's own connection, through which the target's line comes.
     */
    @Test
    void a_socket_declared_external_is_inherited() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 4, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(30_000);
            String connect = "exec 3<>/dev/tcp/127.0.0.1/" + server.getLocalPort() + "; exec \"$@\"";
            try (Target t = Target.startWrapped(tmp, "ext_socket", List.of("/bin/bash", "-c", connect, "bash"));
                    Socket first = server.accept()) {
                t.awaitReady();
                String socket = link(t.pid, 3);
                Path image = t.dir.resolve("image");
                Amber.Result c = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill",
                        "--external-fd", socket);
                assertEquals(0, c.exit(), c.describe() + t.logText());
                Procs.await(() -> !Procs.exists(t.pid), Duration.ofSeconds(10), "pid " + t.pid + " to disappear");
                String failed = "amber: restart from " + image + " failed: ";
                Amber.Result closed = t.run("restart", "-D", image.toString(), "--external-closed");
                assertEquals(failed + "pid " + t.pid + " fd 3: " + socket + " is external and only a pipe can come"
                        + " back closed: supply it with --inherit-fd 'fd[N]:" + socket + "'", closed.stderr().strip(),
                        closed.describe());
                Amber.Result pipe = t.toolPiped("restart", "-D", image.toString(), "--inherit-fd", "fd[3]:" + socket)
                        .await(Target.TOOL_TIMEOUT);
                assertTrue(pipe.stderr().startsWith(failed + "--inherit-fd fd[3]:" + socket + ": pid " + t.pid
                        + " fd 3 was a socket but descriptor 3 of amber restart is pipe:["), pipe.describe());
                Amber.Running r = t.toolWrapped(List.of("/bin/bash", "-c", connect, "bash"), "restart", "-D",
                        image.toString(), "--wait", "--inherit-fd", "fd[3]:" + socket);
                try (Socket second = server.accept()) {
                    t.restarted(r);
                    t.sigterm();
                    t.assertPassed(t.awaitExit(EXIT));
                    BufferedReader in = new BufferedReader(new InputStreamReader(second.getInputStream(),
                            StandardCharsets.US_ASCII));
                    assertEquals("hello from " + t.pid, in.readLine());
                }
            }
        }
    }

    /** checkpoint --kill declaring the two pipes external; returns the image once the pid is gone. */
    private static Path checkpointKill(Target t, String in, String out) throws Exception {
        Path image = t.dir.resolve("image");
        Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill",
                "--external-fd", in, "--external-fd", out);
        assertEquals(0, r.exit(), r.describe() + t.logText());
        assertEquals(List.of(), r.stderrLines(), "no warning: both pipes are held outside");
        Procs.await(() -> !Procs.exists(t.pid), Duration.ofSeconds(10), "pid " + t.pid + " to disappear");
        return image;
    }

    private static String show(Target t, Path image) throws Exception {
        Amber.Result r = t.run("show", image.toString());
        assertEquals(0, r.exit(), r.describe());
        return r.stdout();
    }

    /** Bytes into the target's standard input before the checkpoint, which it does not read until after. */
    private static void early(Target t) throws IOException {
        t.stdin().write("early\n".getBytes(StandardCharsets.US_ASCII));
        t.stdin().flush();
    }

    private static void ping(OutputStream to) throws IOException {
        to.write("ping\n".getBytes(StandardCharsets.US_ASCII));
        to.close();
    }

    private static String link(long pid, int fd) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + fd)).toString();
    }

    /** The tree's child, should the test fail while it lives. */
    private static void killChildren(Target t) {
        try {
            for (String c : Files.readString(Path.of("/proc/" + t.pid + "/task/" + t.pid + "/children")).split(" ")) {
                if (!c.isBlank() && t.binary.toString().equals(Procs.exe(Long.parseLong(c.strip())))) {
                    Procs.signal(Long.parseLong(c.strip()), "KILL");
                }
            }
        } catch (IOException | InterruptedException | AssertionError e) {
            // gone already
        }
    }

    /** Lines read from a pipe on a thread of their own, taken with a timeout. */
    private static final class Lines {
        private static final String END = "\0end";
        private final LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();

        Lines(InputStream in) {
            Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
                    for (String l = r.readLine(); l != null; l = r.readLine()) {
                        queue.add(l);
                    }
                } catch (IOException e) {
                    queue.add("(read failed: " + e.getMessage() + ")");
                }
                queue.add(END);
            });
        }

        String next() throws InterruptedException {
            String l = queue.poll(30, TimeUnit.SECONDS);
            if (l == null) {
                throw new AssertionError("no line from the pipe within 30 s");
            }
            return l == END ? "(end of file)" : l;
        }

        /** Every line left until end of file. */
        List<String> rest() throws InterruptedException {
            List<String> left = new ArrayList<>();
            for (String l = next(); !l.equals("(end of file)"); l = next()) {
                left.add(l);
            }
            return left;
        }
    }
}
