package dev.amber.kind.fs;

import dev.amber.kind.TreeRestore;
import dev.amber.sys.Arch;
import dev.amber.sys.Ptrace;
import dev.amber.sys.Spawn;
import dev.amber.sys.Syscall;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A working directory inside /proc/PID of a process that has ended (a program chdir'ed there and
 * the process went away): the kernel unhashes the entry, so its link reads {@code /proc/PID
 * (deleted)} and getcwd(2) fails with ENOENT. Nothing by that name can be made in procfs, but
 * the state itself can: a restart starts a short-lived process, moves the restored one into the
 * same place in its /proc directory, and ends it, which unhashes the entry again.
 */
final class DeadProcDir {
    private static final Pattern PROC_PID = Pattern.compile("/proc/\\d+(/.*)?");

    private DeadProcDir() {}

    /** The part below /proc/PID of {@code path} ("." for the directory itself), when the link at {@code link} is in procfs. */
    static String of(Path link, String path) throws IOException {
        Matcher m = PROC_PID.matcher(path);
        if (!m.matches() || !dev(link).equals(dev(Path.of("/proc")))) {
            return null;
        }
        return m.group(1) == null ? "." : m.group(1).substring(1);
    }

    private static Object dev(Path p) throws IOException {
        return Files.getAttribute(p, "unix:dev");
    }

    /** Moves the restored process into {@code sub} of a /proc directory whose process then ends. */
    static void enter(Injector inj, TreeRestore tree, String sub) throws IOException {
        int pid = new Spawn("/bin/sleep", List.of("sleep", "1000")).input(0, "/dev/null").start();
        try {
            if (tree.pids().contains(pid)) {
                throw new IOException("the process made for a working directory in /proc took pid " + pid
                        + ", which the restart needs: run the restart again");
            }
            // A thread's directory of the ended process becomes the stand-in's only thread's.
            String dir = "/proc/" + pid + "/" + sub.replaceFirst("^task/\\d+", "task/" + pid);
            inj.check("chdir " + dir, Arch.SYS_CHDIR, inj.putString(0, dir));
        } finally {
            Syscall.raw(Arch.SYS_KILL, pid, 9, 0);
            Ptrace.waitFor(pid, 0);
        }
    }
}
