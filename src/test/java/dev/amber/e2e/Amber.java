package dev.amber.e2e;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the amber CLI ({@code dev.amber.cli.Main}) as a separate JVM with the test JVM's own java
 * and class path, the way a user would run it. Output goes to files, never pipes, so a chatty or
 * stuck tool cannot block the test; every run has a timeout and is killed when it expires.
 */
final class Amber {
    private Amber() {}

    /** AMBER_TEST_NOCR=1: skip checkpoint/restart, only check the targets themselves. */
    static boolean nocr() {
        return "1".equals(System.getenv("AMBER_TEST_NOCR"));
    }

    /** What one finished run left behind. */
    record Result(List<String> args, int exit, String stdout, String stderr) {
        List<String> stderrLines() {
            return stderr.lines().filter(l -> !l.isBlank()).toList();
        }

        String describe() {
            return "amber " + String.join(" ", args) + " exited " + exit + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    /** A run in the background (e.g. {@code restart --wait}). */
    static final class Running implements AutoCloseable {
        private final List<String> args;
        private final Process process;
        private final Path out;
        private final Path err;

        private Running(List<String> args, Process process, Path out, Path err) {
            this.args = args;
            this.process = process;
            this.out = out;
            this.err = err;
        }

        long pid() {
            return process.pid();
        }

        boolean isAlive() {
            return process.isAlive();
        }

        /** Waits for the exit; on timeout kills the tool and throws. */
        Result await(Duration timeout) throws IOException, InterruptedException {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                close();
                throw new AssertionError("amber " + String.join(" ", args) + ": no exit within " + timeout
                        + "; killed\n--- stderr\n" + Files.readString(err));
            }
            return result();
        }

        /** The result once exited (call only after the process ended). */
        Result result() throws IOException {
            return new Result(args, process.exitValue(), Files.readString(out), Files.readString(err));
        }

        /** With {@link #startPiped}: the pipe the tool holds as its fd 4 (read end), to write into. */
        java.io.OutputStream pipeIn() {
            return process.getOutputStream();
        }

        /** With {@link #startPiped}: the pipe the tool holds as its fd 3 (write end), to read from. */
        java.io.InputStream pipeOut() {
            return process.getInputStream();
        }

        String stderrSoFar() throws IOException {
            return Files.readString(err);
        }

        String stdoutSoFar() throws IOException {
            return Files.readString(out);
        }

        @Override
        public void close() {
            if (process.isAlive()) {
                process.destroyForcibly(); // SIGKILL, by this pid only
                try {
                    process.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    static Result run(Duration timeout, Path workDir, String... args) throws IOException, InterruptedException {
        try (Running r = start(workDir, args)) {
            return r.await(timeout);
        }
    }

    /** Starts the tool; its stdout and stderr go to fresh files under workDir. */
    static Running start(Path workDir, String... args) throws IOException {
        return start(workDir, List.of(), args);
    }

    /**
     * Starts the tool under a wrapper command ({@code setpriv ...}) that execs the JVM; the wrapper
     * takes the tool's pid, so closing the run still kills exactly the tool.
     */
    static Running start(Path workDir, List<String> wrapper, String... args) throws IOException {
        Files.createDirectories(workDir);
        Path out = Files.createTempFile(workDir, "amber-", ".out");
        Path err = Files.createTempFile(workDir, "amber-", ".err");
        List<String> cmd = new ArrayList<>(wrapper);
        cmd.addAll(command(args));
        Process p = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        return new Running(List.of(args), p, out, err);
    }

    /**
     * Starts the tool holding two pipes of the test's: its fd 3 is the write end of one the test
     * reads ({@link Running#pipeOut}), its fd 4 the read end of one the test writes
     * ({@link Running#pipeIn}); its standard input is /dev/null and its output goes to files, as
     * with {@link #start}. A shell makes the descriptors and execs the JVM (the tool keeps its pid).
     */
    static Running startPiped(Path workDir, String... args) throws IOException {
        Files.createDirectories(workDir);
        Path out = Files.createTempFile(workDir, "amber-", ".out");
        Path err = Files.createTempFile(workDir, "amber-", ".err");
        List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c",
                "exec 3>&1 4<&0 >>\"$0\" </dev/null; exec \"$@\"", out.toString()));
        cmd.addAll(command(args));
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        return new Running(List.of(args), p, out, err);
    }

    /** The command line that runs the tool with {@code args}. */
    static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow",
                // No hsperfdata: a JVM that has it also deletes other dead JVMs' files at start-up,
                // and a checkpointed JVM's file must still be there when it is restarted.
                "-XX:-UsePerfData",
                "-cp", classPath(),
                "dev.amber.cli.Main"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Surefire may hide the real class path behind a manifest-only jar; it publishes it here. */
    private static String classPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
    }
}
