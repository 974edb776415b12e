package dev.amber.kind.timer;

import dev.amber.image.proto.PosixTimer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The POSIX timers of a process, from {@code /proc/PID/timers} (CONFIG_CHECKPOINT_RESTORE;
 * readable with ptrace access), four lines per timer, newest first (the kernel walks its list):
 *
 * <pre>
 * ID: 0
 * signal: 14/0000000000000000        sigev_signo / sigev_value, hex
 * notify: signal/pid.4242            signal, none or thread; pid, or tid for SIGEV_THREAD_ID
 * ClockID: 1
 * </pre>
 *
 * glibc's SIGEV_THREAD timers reach the kernel as SIGEV_THREAD_ID to glibc's helper thread
 * ({@code signal/tid.N}); a raw SIGEV_THREAD shows as {@code thread/pid.N}. The remaining time,
 * interval and overrun count are not here: {@link PosixTimerKind} asks the process.
 */
final class PosixTimers {
    static final int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD = 2, SIGEV_THREAD_ID = 4;

    private PosixTimers() {}

    /** The timers of {@code pid}, ascending id, with the fields /proc shows. */
    static List<PosixTimer.Builder> read(int pid) throws IOException {
        Path file = Path.of("/proc", Integer.toString(pid), "timers");
        try {
            return parse(Files.readString(file), file.toString());
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": No such file or directory (process gone, or a kernel without"
                    + " CONFIG_CHECKPOINT_RESTORE?)", e);
        }
    }

    static List<PosixTimer.Builder> parse(String text, String where) throws IOException {
        List<PosixTimer.Builder> timers = new ArrayList<>();
        PosixTimer.Builder t = null;
        for (String line : text.split("\n")) {
            int colon = line.indexOf(": ");
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon), value = line.substring(colon + 2).strip();
            try {
                if (key.equals("ID")) {
                    t = PosixTimer.newBuilder().setId(Integer.parseInt(value));
                    timers.add(t);
                } else if (t == null) {
                    throw new IOException(where + ": '" + line + "' before any 'ID:' line");
                } else if (key.equals("signal")) {
                    int slash = value.indexOf('/');
                    t.setSignal(Integer.parseInt(value.substring(0, slash)))
                            .setSigevValue(Long.parseUnsignedLong(value.substring(slash + 1), 16));
                } else if (key.equals("notify")) {
                    notify(t, value, where);
                } else if (key.equals("ClockID")) {
                    t.setClockid(Integer.parseInt(value));
                }
            } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                throw new IOException(where + ": cannot parse '" + line + "'", e);
            }
        }
        timers.sort(Comparator.comparingInt(PosixTimer.Builder::getId));
        return timers;
    }

    /** {@code signal/pid.4242}, {@code none/pid.4242}, {@code thread/pid.4242} or {@code signal/tid.4243}. */
    private static void notify(PosixTimer.Builder t, String value, String where) throws IOException {
        int slash = value.indexOf('/'), dot = value.indexOf('.');
        int mode = switch (value.substring(0, slash)) {
            case "signal" -> SIGEV_SIGNAL;
            case "none" -> SIGEV_NONE;
            case "thread" -> SIGEV_THREAD;
            default -> throw new IOException(where + ": timer " + t.getId() + ": notify '" + value
                    + "', expected signal, none or thread");
        };
        String target = value.substring(slash + 1, dot);
        int id = Integer.parseInt(value.substring(dot + 1));
        if (target.equals("tid")) {
            t.setNotify(mode | SIGEV_THREAD_ID).setTid(id);
        } else if (target.equals("pid")) {
            t.setNotify(mode);
        } else {
            throw new IOException(where + ": timer " + t.getId() + ": notify '" + value + "', expected pid or tid");
        }
    }
}
