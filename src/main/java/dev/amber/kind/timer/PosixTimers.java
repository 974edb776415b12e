package dev.amber.kind.timer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The POSIX timers of a process, from {@code /proc/PID/timers} (CONFIG_CHECKPOINT_RESTORE;
 * readable with ptrace access), four lines per timer:
 *
 * <pre>
 * ID: 0
 * signal: 14/0000000000000000
 * notify: signal/pid.4242
 * ClockID: 1
 * </pre>
 *
 * Parsed here until the proc package has a parser for it; only the ids are needed to refuse.
 */
final class PosixTimers {
    private PosixTimers() {}

    static List<Integer> ids(int pid) throws IOException {
        Path file = Path.of("/proc", Integer.toString(pid), "timers");
        try {
            return parse(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": No such file or directory (process gone, or a kernel without"
                    + " CONFIG_CHECKPOINT_RESTORE?)", e);
        }
    }

    static List<Integer> parse(String text) {
        List<Integer> ids = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.startsWith("ID: ")) {
                ids.add(Integer.parseInt(line.substring(4).strip()));
            }
        }
        return ids;
    }
}
