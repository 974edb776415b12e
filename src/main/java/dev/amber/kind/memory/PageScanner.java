package dev.amber.kind.memory;

import dev.amber.image.proto.PageRun;
import dev.amber.image.proto.Vma;
import dev.amber.image.proto.VmaKind;
import dev.amber.proc.Pagemap;
import dev.amber.proc.PagemapReader;
import dev.amber.sys.Arch;
import dev.amber.sys.PagemapScan;
import java.io.IOException;

/**
 * Decides which pages of a mapping hold data the image must keep, from {@code /proc/PID/pagemap}.
 * Pages never touched are not saved (they come back as zero, or from the file). For a private
 * file mapping, only pages that were copied on write (present and no longer the file's page)
 * differ from the file.
 */
final class PageScanner {
    private static final int BATCH = 1 << 16;
    private static final long USER_END = 1L << 47;   // x86-64 TASK_SIZE with 4-level paging, rounded up

    private PageScanner() {}

    /** Adds the runs of pages to save to {@code vma}; their file offsets start at {@code offset}. Returns the new end offset. */
    static long scan(PagemapReader pagemap, Vma.Builder vma, long offset) throws IOException {
        VmaKind kind = vma.getKind();
        boolean fileBacked = privateFile(vma);
        if (kind != VmaKind.ANON_PRIVATE && kind != VmaKind.ANON_SHARED && !fileBacked) {
            return offset;
        }
        long runStart = -1;
        long runPages = 0;
        for (long addr = vma.getStart(); addr < vma.getEnd(); addr += (long) BATCH * Arch.PAGE_SIZE) {
            int pages = (int) Math.min(BATCH, (vma.getEnd() - addr) / Arch.PAGE_SIZE);
            long[] entries = pagemap.read(addr, pages);
            for (int i = 0; i < pages; i++) {
                long e = entries[i];
                boolean save = Pagemap.swapped(e) && !Pagemap.guard(e)
                        || Pagemap.present(e) && !(fileBacked && Pagemap.fileOrSharedAnon(e));
                long page = addr + (long) i * Arch.PAGE_SIZE;
                if (save && runStart >= 0 && runStart + runPages * Arch.PAGE_SIZE == page) {
                    runPages++;
                } else if (save) {
                    offset = close(vma, runStart, runPages, offset);
                    runStart = page;
                    runPages = 1;
                }
            }
        }
        return close(vma, runStart, runPages, offset);
    }

    /**
     * The same with PAGEMAP_SCAN: the kernel returns the runs. Pages mapped to the shared zero
     * page read as zeros: they are left out like untouched ones.
     */
    static long scan(PagemapScan scan, Vma.Builder vma, long offset) throws IOException {
        long mask = switch (vma.getKind()) {
            case ANON_PRIVATE -> PagemapScan.PAGE_IS_PFNZERO;
            case FILE_PRIVATE -> PagemapScan.PAGE_IS_PFNZERO | PagemapScan.PAGE_IS_FILE;
            case MEMFD -> privateFile(vma) ? PagemapScan.PAGE_IS_PFNZERO | PagemapScan.PAGE_IS_FILE : -1;
            case ANON_SHARED -> privateFile(vma) ? PagemapScan.PAGE_IS_PFNZERO | PagemapScan.PAGE_IS_FILE : 0;
            default -> -1;
        };
        if (mask < 0) {
            return offset;
        }
        if (scan.guards()) {
            mask |= PagemapScan.PAGE_IS_GUARD;   // swapped to the scan, but no page: nothing to read
        }
        for (long[] run : scan.scan(vma.getStart(), vma.getEnd(), PagemapScan.PAGE_IS_PRESENT
                | PagemapScan.PAGE_IS_SWAPPED, mask, mask)) {
            offset = close(vma, run[0], (run[1] - run[0]) / Arch.PAGE_SIZE, offset);
        }
        return offset;
    }

    /**
     * Guard regions (madvise MADV_GUARD_INSTALL): page table markers that fault on any access,
     * kept by the kernel across mprotect and fork. One scan of the whole address space, added
     * to the mapping each run lies in.
     */
    static void guards(PagemapScan scan, java.util.List<Vma.Builder> vmas) throws IOException {
        if (scan == null || !scan.guards() || vmas.isEmpty()) {
            return;
        }
        // User space only: the walk finds nothing past TASK_SIZE ([vsyscall] lies there).
        long top = vmas.stream().mapToLong(Vma.Builder::getEnd).filter(e -> e > 0 && e <= USER_END).max().orElse(0);
        if (top == 0) {
            return;
        }
        for (long[] run : scan.scan(vmas.getFirst().getStart(), top, PagemapScan.PAGE_IS_GUARD, 0, 0)) {
            for (Vma.Builder v : vmas) {
                long start = Math.max(run[0], v.getStart()), end = Math.min(run[1], v.getEnd());
                if (start < end) {
                    v.addGuards(PageRun.newBuilder().setAddress(start).setCount((end - start) / Arch.PAGE_SIZE));
                }
            }
        }
    }

    /** A private mapping of a file, memfd or shmem object: its pages copied on write are the ones to save. */
    private static boolean privateFile(Vma.Builder vma) {
        return vma.getKind() == VmaKind.FILE_PRIVATE
                || (vma.getKind() == VmaKind.MEMFD || vma.getKind() == VmaKind.ANON_SHARED) && !vma.getShared();
    }

    private static long close(Vma.Builder vma, long start, long pages, long offset) {
        if (start < 0 || pages == 0) {
            return offset;
        }
        vma.addPages(PageRun.newBuilder().setAddress(start).setCount(pages).setFileOffset(offset));
        return offset + pages * Arch.PAGE_SIZE;
    }
}
