package dev.amber.kind.memory;

import dev.amber.image.proto.Memory;
import dev.amber.image.proto.PageRun;
import dev.amber.image.proto.Vma;
import dev.amber.kind.PageSource;
import dev.amber.sys.Arch;
import dev.amber.sys.ProcessMemory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes the saved pages into a restoring process, from the page file mapped in the tool, with
 * process_vm_writev on every CPU: most of the cost is the kernel allocating the process's new
 * pages, and that parallelises. The mappings must be writable while this runs.
 */
final class PageFiller {
    private static final long PIECE = 8 << 20;

    private PageFiller() {}

    static void fill(int pid, Memory memory, PageSource pages) throws IOException {
        List<long[]> pieces = new ArrayList<>();   // {address, file offset, length}
        for (Vma v : memory.getVmasList()) {
            for (PageRun run : v.getPagesList()) {
                long bytes = run.getCount() * Arch.PAGE_SIZE;
                for (long done = 0; done < bytes; done += PIECE) {
                    pieces.add(new long[] {run.getAddress() + done, run.getFileOffset() + done,
                            Math.min(PIECE, bytes - done)});
                }
            }
        }
        Parallel.forEach(pieces, "fill", pieces.stream().mapToLong(p -> p[2]).sum(), (p, mine) ->
                ProcessMemory.write(pid, p[0], pages.slice(memory.getPagesFile(), p[1], p[2])));
    }
}
