package dev.amber.sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The PAGEMAP_SCAN ioctl on {@code /proc/PID/pagemap} (kernel 6.7+): the kernel walks the page
 * tables and returns runs of pages in the asked categories, instead of eight bytes per page to be
 * read and sorted by the caller. Close when done.
 *
 * <pre>
 * struct pm_scan_arg {            struct page_region {
 *   u64 size, flags;                u64 start, end;
 *   u64 start, end, walk_end;       u64 categories;
 *   u64 vec, vec_len, max_pages;  };
 *   u64 category_inverted, category_mask, category_anyof_mask, return_mask;
 * };                              ioctl number _IOWR('f', 16, struct pm_scan_arg)
 * </pre>
 */
public final class PagemapScan implements AutoCloseable {
    public static final long PAGE_IS_FILE = 1 << 2, PAGE_IS_PRESENT = 1 << 3, PAGE_IS_SWAPPED = 1 << 4,
            PAGE_IS_PFNZERO = 1 << 5, PAGE_IS_GUARD = 1 << 8;
    private static final long IOCTL = 0xC0000000L | (96L << 16) | ('f' << 8) | 16;
    private static final int REGIONS = 4096, O_RDONLY = 0, O_CLOEXEC = 02000000, AT_FDCWD = -100;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment arg = arena.allocate(96, 8);
    private final MemorySegment vec = arena.allocate(REGIONS * 24L, 8);
    private final int fd;
    private final int pid;

    private PagemapScan(int pid, int fd) {
        this.pid = pid;
        this.fd = fd;
    }

    /** Opens the process's pagemap, or returns null when this kernel has no PAGEMAP_SCAN. */
    public static PagemapScan open(int pid) throws ErrnoException {
        int fd;
        try (Arena a = Arena.ofConfined()) {
            fd = (int) Syscall.check("open", "/proc/" + pid + "/pagemap", Arch.SYS_OPENAT, AT_FDCWD,
                    a.allocateFrom("/proc/" + pid + "/pagemap").address(), O_RDONLY | O_CLOEXEC);
        }
        PagemapScan scan = new PagemapScan(pid, fd);
        try {
            scan.scan(0, Arch.PAGE_SIZE, PAGE_IS_PRESENT, 0, 0);
            return scan;
        } catch (ErrnoException e) {
            scan.close();
            return null;
        }
    }

    private Boolean guards;

    /**
     * Whether this kernel reports guard regions (MADV_GUARD_INSTALL, 6.13; PAGE_IS_GUARD since
     * 6.15): an unknown category is EINVAL. A guard page reads as swapped, and reading it faults.
     */
    public boolean guards() {
        if (guards == null) {
            try {
                scan(0, Arch.PAGE_SIZE, PAGE_IS_GUARD, 0, 0);
                guards = true;
            } catch (ErrnoException e) {
                guards = false;
            }
        }
        return guards;
    }

    /**
     * Runs of pages in [start, end) with at least one category of {@code anyOf}, and whose
     * categories in {@code mask} are set, or clear where also in {@code inverted}: each run
     * {start, end}.
     */
    public List<long[]> scan(long start, long end, long anyOf, long mask, long inverted) throws ErrnoException {
        List<long[]> runs = new ArrayList<>();
        long at = start;
        while (at < end) {
            arg.set(JAVA_LONG, 0, 96);
            arg.set(JAVA_LONG, 8, 0);
            arg.set(JAVA_LONG, 16, at);
            arg.set(JAVA_LONG, 24, end);
            arg.set(JAVA_LONG, 32, 0);
            arg.set(JAVA_LONG, 40, vec.address());
            arg.set(JAVA_LONG, 48, REGIONS);
            arg.set(JAVA_LONG, 56, 0);
            arg.set(JAVA_LONG, 64, inverted);
            arg.set(JAVA_LONG, 72, mask);
            arg.set(JAVA_LONG, 80, anyOf);
            arg.set(JAVA_LONG, 88, anyOf | mask);
            long n = Syscall.check("ioctl(PAGEMAP_SCAN)", "pid " + pid, Arch.SYS_IOCTL, fd, IOCTL, arg.address());
            for (int i = 0; i < n; i++) {
                long s = vec.get(JAVA_LONG, i * 24L), e = vec.get(JAVA_LONG, i * 24L + 8);
                if (!runs.isEmpty() && runs.getLast()[1] == s) {
                    runs.getLast()[1] = e;
                } else {
                    runs.add(new long[] {s, e});
                }
            }
            long walkEnd = arg.get(JAVA_LONG, 32);
            if (walkEnd <= at) {
                throw new IllegalStateException("PAGEMAP_SCAN made no progress at 0x" + Long.toHexString(at));
            }
            at = walkEnd;
        }
        return runs;
    }

    @Override
    public void close() {
        Syscall.raw(Arch.SYS_CLOSE, fd, 0, 0);
        arena.close();
    }
}
