package dev.amber.proc;

import java.io.IOException;

/**
 * {@code /proc/PID/limits}: a header line, then one row per resource in resource order, e.g.
 * {@code "Max open files            1024                 1048576              files"}: the name in
 * 26 columns, then the soft and hard values ("unlimited" for RLIM_INFINITY), then the unit.
 */
public final class Limits {
    private Limits() {}

    public static String text(int pid) throws IOException {
        return ProcFiles.readString(ProcFiles.path(pid, "limits"));
    }
}
