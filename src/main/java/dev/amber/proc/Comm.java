package dev.amber.proc;

import java.io.IOException;

/**
 * {@code /proc/PID/comm}: the task's command name (at most 15 bytes, unescaped) and a newline:
 *
 * <pre>
 * java
 * </pre>
 */
public final class Comm {
    private Comm() {}

    public static String read(int pid) throws IOException {
        return ProcFiles.read(ProcFiles.path(pid, "comm"), Comm::parse);
    }

    public static String read(int pid, int tid) throws IOException {
        return ProcFiles.read(ProcFiles.taskPath(pid, tid, "comm"), Comm::parse);
    }

    /** The text minus its one trailing newline (a comm may itself contain spaces or newlines). */
    public static String parse(String text) {
        if (!text.endsWith("\n")) throw new ProcFormatException("comm", 1, "expected a line ending in a newline, found \"" + text + "\"");
        return text.substring(0, text.length() - 1);
    }
}
