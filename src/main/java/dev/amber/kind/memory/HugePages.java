package dev.amber.kind.memory;

import dev.amber.sys.ErrnoException;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * hugetlb memory (MAP_HUGETLB, MFD_HUGETLB): made again with the huge page size it had, which
 * mmap and memfd_create take as log2(size) in bits 26-31 of their flags (MAP_HUGE_SHIFT,
 * MFD_HUGE_SHIFT). Huge pages come from the pool the administrator reserved
 * ({@code /sys/kernel/mm/hugepages/hugepages-NkB/nr_hugepages}); an mmap the pool cannot back
 * fails with ENOMEM, which the restart explains.
 */
public final class HugePages {
    public static final int MAP_HUGETLB = 0x40000, MFD_HUGETLB = 4, HUGE_SHIFT = 26;
    private static final int ENOMEM = 12;

    private HugePages() {}

    /** MAP_HUGETLB (or MFD_HUGETLB, {@code base}) with the page size, or 0 for ordinary pages. */
    public static int flags(int base, long pageSize) {
        if (pageSize == 0) {
            return 0;
        }
        if (Long.bitCount(pageSize) != 1) {
            throw new IllegalArgumentException("huge page size " + pageSize + " is not a power of two");
        }
        return base | Long.numberOfTrailingZeros(pageSize) << HUGE_SHIFT;
    }

    /** {@code length} rounded up to whole pages of {@code pageSize} (unchanged for 0). */
    public static long align(long length, long pageSize) {
        return pageSize == 0 ? length : (length + pageSize - 1) / pageSize * pageSize;
    }

    /** An injected mmap (or memfd_create) of hugetlb memory; ENOMEM is explained with the pool's state. */
    public static long check(Injector inj, String what, long pageSize, long nr, long... args) throws IOException {
        long r = inj.call(nr, args);
        if (r == -ENOMEM && pageSize != 0) {
            throw new IOException(what + ": no free huge pages of " + pageSize / 1024 + " kB for it (" + pool(pageSize)
                    + "): reserve more, e.g. echo N > /sys/kernel/mm/hugepages/hugepages-" + pageSize / 1024
                    + "kB/nr_hugepages, and restart again");
        }
        return ErrnoException.check(r, what, "in pid " + inj.tracee().tid());
    }

    /** "N reserved, M free" for the pool of {@code pageSize}, as sysfs shows it. */
    static String pool(long pageSize) {
        Path dir = Path.of("/sys/kernel/mm/hugepages/hugepages-" + pageSize / 1024 + "kB");
        try {
            return Files.readString(dir.resolve("nr_hugepages")).strip() + " reserved, "
                    + Files.readString(dir.resolve("free_hugepages")).strip() + " free";
        } catch (IOException e) {
            return "this kernel has no pool of that size";
        }
    }
}
