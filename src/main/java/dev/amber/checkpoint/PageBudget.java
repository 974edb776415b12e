package dev.amber.checkpoint;

import dev.amber.proc.SmapsRollup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How big a buffer to prepare, before the process is frozen, for its pages: its anonymous and
 * swapped memory (what a checkpoint saves, near enough), but never more than half the memory
 * the machine has available. Pages beyond the buffer are written while frozen, just slower.
 */
final class PageBudget {
    /** Room for what the process touches between this estimate and the freeze: a 16th, at least this. */
    private static final long SLACK = 64L << 10;

    private PageBudget() {}

    static long estimate(int pid) throws IOException {
        SmapsRollup r = SmapsRollup.read(pid);
        long saved = (r.anonymousKb() + r.swapKb()) * 1024;
        long wanted = saved + Math.max(SLACK, saved / 16);
        return Math.min(wanted, available() / 2);
    }

    private static long available() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemAvailable:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return 1L << 30;
    }
}
