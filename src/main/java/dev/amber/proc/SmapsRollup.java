package dev.amber.proc;

import java.io.IOException;

/**
 * {@code /proc/PID/smaps_rollup}: the smaps counters summed over the whole address space, after a
 * header line that spans all areas:
 *
 * <pre>
 * 55d0ffe53000-7ffe53a84000 ---p 00000000 00:00 0                          [rollup]
 * Rss:                1664 kB
 * Pss:                 612 kB
 * Anonymous:           112 kB
 * Swap:                  0 kB
 * </pre>
 */
public record SmapsRollup(long rssKb, long pssKb, long anonymousKb, long swapKb) {

    public static SmapsRollup read(int pid) throws IOException {
        return ProcFiles.read(ProcFiles.path(pid, "smaps_rollup"), SmapsRollup::parse);
    }

    public static SmapsRollup parse(String text) {
        int newline = text.indexOf('\n');
        String header = newline < 0 ? text : text.substring(0, newline);
        if (!header.endsWith("[rollup]")) {
            throw new ProcFormatException("smaps_rollup", 1, "expected a header ending in \"[rollup]\", found \"" + header + "\"");
        }
        // Keep line numbers true to the file: blank out the header rather than cut it.
        var values = KeyValues.parse("smaps_rollup", newline < 0 ? "" : "\n" + text.substring(newline + 1));
        return new SmapsRollup(values.kilobytes("Rss"), values.kilobytes("Pss"), values.kilobytes("Anonymous"),
                values.kilobytes("Swap"));
    }
}
