package dev.amber.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Small facts about a process read from /proc, signals by pid, and bounded waiting. */
final class Procs {
    private Procs() {}

    static boolean exists(long pid) {
        return Files.exists(Path.of("/proc", Long.toString(pid)));
    }

    /** The state letter of /proc/PID/stat, or 0 when the process is gone. */
    static char state(long pid) {
        String stat = stat(pid);
        return stat == null ? 0 : stat.charAt(stat.lastIndexOf(')') + 2);
    }

    /** Field n (1-based, as in proc(5)) of /proc/PID/stat, or null when the process is gone. */
    static String statField(long pid, int n) {
        String stat = stat(pid);
        if (stat == null)
            return null;
        String[] rest = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        return rest[n - 3];
    }

    /** The whole /proc/PID/stat line, or null when the process is gone. */
    static String statLine(long pid) {
        return stat(pid);
    }

    private static String stat(long pid) {
        try {
            return read(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * A /proc file as text. Not Files.readString: it trusts the size that stat reports, and proc
     * files report 0 or 4096 (pid_max came back as "3").
     */
    static String read(Path p) throws IOException {
        try (var in = Files.newInputStream(p)) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** A field of /proc/PID/status ("TracerPid"), or null. */
    static String status(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")))
                if (line.startsWith(field + ":"))
                    return line.substring(field.length() + 1).trim();
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    /** The resolved /proc/PID/exe, or "" when unreadable. */
    static String exe(long pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "exe")).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return "";
        }
    }

    /** Running freely: exists, not stopped or traced, no tracer. */
    static boolean runsFree(long pid) {
        char s = state(pid);
        return s != 0 && s != 't' && s != 'T' && s != 'Z' && s != 'X' && "0".equals(status(pid, "TracerPid"));
    }

    /** kill -s SIG PID through /usr/bin/kill (the test JVM has no native access of its own). */
    static void signal(long pid, String sig) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kill", "-s", sig, Long.toString(pid)).redirectErrorStream(true).start();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("kill -s " + sig + " " + pid + ": timed out");
        }
        if (p.exitValue() != 0)
            throw new AssertionError("kill -s " + sig + " " + pid + ": " + new String(p.getInputStream().readAllBytes()));
    }

    /** Polls every 10 ms until the condition holds; throws with the description on timeout. */
    static void await(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline)
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            Thread.sleep(10);
        }
    }

    /** A pid that no process holds right now (counting down from pid_max). */
    static long unusedPid() throws IOException {
        long max = Long.parseLong(read(Path.of("/proc/sys/kernel/pid_max")).trim());
        for (long pid = max - 1; pid > 300; pid--)
            if (!exists(pid))
                return pid;
        throw new AssertionError("no free pid");
    }
}
