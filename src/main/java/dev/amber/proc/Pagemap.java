package dev.amber.proc;

import java.io.IOException;

/**
 * {@code /proc/PID/pagemap}: one native 64-bit entry per virtual page, at file offset
 * {@code address / 4096 * 8} ({@code Documentation/admin-guide/mm/pagemap.rst}):
 *
 * <pre>
 *  63  62  61  60..58 57  56  55  54 ......................... 0
 * +---+---+---+------+---+---+---+------------------------------+
 * | P | S | F |  0   | W | E | D | PFN (present), or swap type  |
 * +---+---+---+------+---+---+---+  (bits 0-4) and offset (5-54)|
 *   present, swapped, file-page or shared-anon, uffd write-protected, exclusively mapped,
 *   soft-dirty
 * </pre>
 *
 * The PFN reads as 0 without CAP_SYS_ADMIN. This kernel has no CONFIG_MEM_SOFT_DIRTY, so bit 55
 * is always 0 here. Reading many ranges: open one {@link PagemapReader} for the checkpoint.
 */
public final class Pagemap {
    /** x86-64 base page size; pagemap has one entry per base page even under huge pages. */
    public static final int PAGE_SIZE = 4096;

    private Pagemap() {}

    /** One positioned read of {@code pages} entries starting at page-aligned {@code startAddr}. */
    public static long[] read(int pid, long startAddr, int pages) throws IOException {
        try (var reader = open(pid)) {
            return reader.read(startAddr, pages);
        }
    }

    public static PagemapReader open(int pid) throws IOException {
        return new PagemapReader(pid);
    }

    public static boolean present(long entry) {
        return bit(entry, 63);
    }

    /** A guard region's marker (MADV_GUARD_INSTALL; PM_GUARD_REGION, bit 58, since 6.15): no page behind it. */
    public static boolean guard(long entry) {
        return bit(entry, 58);
    }

    public static boolean swapped(long entry) {
        return bit(entry, 62);
    }

    /** Page-cache page of a file, or shared anonymous (shmem) memory. */
    public static boolean fileOrSharedAnon(long entry) {
        return bit(entry, 61);
    }

    /** Write-protected by userfaultfd (UFFDIO_WRITEPROTECT), the dirty tracking this kernel offers. */
    public static boolean uffdWriteProtected(long entry) {
        return bit(entry, 57);
    }

    /** Mapped by this process only. */
    public static boolean exclusive(long entry) {
        return bit(entry, 56);
    }

    public static boolean softDirty(long entry) {
        return bit(entry, 55);
    }

    /** Page frame number (bits 0-54) of a present page; 0 when hidden from unprivileged readers. */
    public static long pfn(long entry) {
        return entry & ((1L << 55) - 1);
    }

    private static boolean bit(long entry, int bit) {
        return (entry >>> bit & 1) != 0;
    }
}
