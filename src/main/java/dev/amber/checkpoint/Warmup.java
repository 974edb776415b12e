package dev.amber.checkpoint;

import dev.amber.kind.memory.MemoryKind;
import dev.amber.proc.FdInfo;
import dev.amber.proc.Fds;
import dev.amber.proc.Maps;
import dev.amber.proc.Pagemap;
import dev.amber.proc.PagemapReader;
import dev.amber.proc.ProcStatus;
import dev.amber.proc.Smaps;
import dev.amber.trace.Gadget;
import java.io.IOException;

/**
 * Reads, before the process is frozen, the same /proc files the dump will read while it is
 * frozen, and throws the results away: class loading, method linking and the first compilations
 * then happen while the process still runs, and the frozen time is the dump's own work. Reads
 * only; nothing here touches the process.
 */
final class Warmup {
    private Warmup() {}

    static void run(int pid) {
        try {
            var maps = Maps.read(pid);
            Smaps.read(pid);
            ProcStatus.read(pid);
            Gadget.find(pid);
            try (PagemapReader pagemap = Pagemap.open(pid)) {
                if (!maps.isEmpty()) {
                    pagemap.read(maps.getFirst().start(), 1);
                }
            }
            for (int fd : Fds.list(pid)) {
                Fds.readLink(pid, fd);
                FdInfo.read(pid, fd);
            }
            MemoryKind.pagesFile(pid);
        } catch (IOException | RuntimeException e) {
            // The real dump will meet the same problem and report it.
        }
    }
}
