package dev.amber.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Whether this process may checkpoint and restart others: root, or the two capabilities. */
final class Privileges {
    static final int CAP_SYS_PTRACE = 19, CAP_SYS_ADMIN = 21, CAP_CHECKPOINT_RESTORE = 40;

    private Privileges() {}

    static long effectiveCaps() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    return Long.parseUnsignedLong(line.substring(7).strip(), 16);
                }
            }
        } catch (IOException e) {
            // Treated as no capabilities.
        }
        return 0;
    }

    static boolean has(int cap) {
        return (effectiveCaps() & (1L << cap)) != 0;
    }

    /** Whether amber may act on other processes; if not, says so in one line on stderr. */
    static boolean sufficient() {
        String missing = missing();
        if (missing != null) {
            System.err.println("amber: " + missing);
        }
        return missing == null;
    }

    /** null when sufficient, else the one line to print. */
    static String missing() {
        boolean restore = has(CAP_CHECKPOINT_RESTORE) || has(CAP_SYS_ADMIN);
        if (restore && has(CAP_SYS_PTRACE)) {
            return null;
        }
        return "amber needs root (or CAP_CHECKPOINT_RESTORE and CAP_SYS_PTRACE): run it with sudo";
    }
}
