package dev.amber.proc;

import java.io.IOException;

/**
 * {@code /proc/PID/personality}: the execution domain ({@code personality(2)} flags such as
 * {@code ADDR_NO_RANDOMIZE 0x0040000}) as 8 hexadecimal digits and a newline:
 *
 * <pre>
 * 00040000
 * </pre>
 *
 * Readable only by a task that may ptrace the process.
 */
public final class Personality {
    private Personality() {}

    public static int read(int pid) throws IOException {
        return ProcFiles.read(ProcFiles.path(pid, "personality"), Personality::parse);
    }

    public static int parse(String text) {
        var lines = new Lines("personality", text);
        if (!lines.next()) throw new ProcFormatException("personality", 0, "expected a hexadecimal value, found nothing");
        try {
            return Integer.parseUnsignedInt(lines.line().strip(), 16);
        } catch (NumberFormatException e) {
            throw lines.error("a hexadecimal value");
        }
    }
}
