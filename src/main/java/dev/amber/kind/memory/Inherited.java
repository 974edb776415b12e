package dev.amber.kind.memory;

import dev.amber.image.proto.Memory;
import dev.amber.image.proto.PageRun;
import dev.amber.image.proto.Vma;
import dev.amber.image.proto.VmaKind;
import dev.amber.kind.PageSource;
import dev.amber.sys.Arch;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Private memory a child shares copy-on-write with its parent. A puppet cloned from its parent's
 * puppet once the parent's memory is restored inherits that memory as fork does: a private
 * mapping the child has exactly as the parent had it (same range, same file and offset) is kept,
 * and only the pages where the child's saved contents differ from the parent's are written (or
 * dropped back to zero or to the file, where the child had none of its own). Pages equal in both
 * stay shared, so the restored tree uses about the memory the original did.
 */
public final class Inherited {
    private Inherited() {}

    /** The child's private mappings that are the parent's too, mapped alike: kept, not mapped again. */
    public static List<Vma> kept(Memory child, Memory parent) {
        List<Vma> kept = new ArrayList<>();
        if (parent == null) {
            return kept;
        }
        TreeMap<Long, Vma> theirs = new TreeMap<>();
        parent.getVmasList().forEach(v -> theirs.put(v.getStart(), v));
        for (Vma v : child.getVmasList()) {
            Vma p = theirs.get(v.getStart());
            if (p != null && alike(v, p)) {
                kept.add(v);
            }
        }
        return kept;
    }

    private static boolean alike(Vma c, Vma p) {
        if (c.getKind() == VmaKind.AIO_RING) {   // the parent's ring, which fork gives the child as it is
            return c.getAioRing().getInherited() && p.getKind() == VmaKind.AIO_RING && c.getEnd() == p.getEnd();
        }
        if (c.getKind() != VmaKind.ANON_PRIVATE && c.getKind() != VmaKind.FILE_PRIVATE) {
            return false;
        }
        if (c.getDeleted() || p.getDeleted() || !c.getContents().isEmpty()) {
            return false;   // remade files: a new inode in each process
        }
        return c.getKind() == p.getKind() && c.getEnd() == p.getEnd() && c.getPath().equals(p.getPath())
                && c.getFileOffset() == p.getFileOffset() && c.getShared() == p.getShared()
                && c.getFileIdentity().getInode() == p.getFileIdentity().getInode();
    }

    /** What a kept mapping needs: runs to write {address, file offset, length} and ranges to drop {address, length}. */
    record Patch(List<long[]> writes, List<long[]> drops) {}

    /**
     * Compares the child's saved pages of {@code v} with the parent's at the same addresses: a
     * page only the child has, or whose bytes differ, is written; a page only the parent has is
     * dropped (MADV_DONTNEED: zero again for anonymous memory, the file's page for a file).
     */
    static Patch patch(Vma v, Memory child, Memory parent, PageSource pages) throws IOException {
        TreeMap<Long, Long> mine = pageOffsets(v, child.getVmasList()), theirs = pageOffsets(v, parent.getVmasList());
        List<long[]> writes = new ArrayList<>(), drops = new ArrayList<>();
        for (var e : mine.entrySet()) {
            Long other = theirs.get(e.getKey());
            if (other == null || !same(pages, child.getPagesFile(), e.getValue(), parent.getPagesFile(), other)) {
                long[] last = writes.isEmpty() ? null : writes.getLast();
                if (last != null && last[0] + last[2] == e.getKey() && last[1] + last[2] == e.getValue()) {
                    last[2] += Arch.PAGE_SIZE;
                } else {
                    writes.add(new long[] {e.getKey(), e.getValue(), Arch.PAGE_SIZE});
                }
            }
        }
        for (long address : theirs.keySet()) {
            if (!mine.containsKey(address)) {
                long[] last = drops.isEmpty() ? null : drops.getLast();
                if (last != null && last[0] + last[1] == address) {
                    last[1] += Arch.PAGE_SIZE;
                } else {
                    drops.add(new long[] {address, Arch.PAGE_SIZE});
                }
            }
        }
        return new Patch(writes, drops);
    }

    /** Page address -> offset in the pages file, for the saved mapping at {@code v}'s start. */
    private static TreeMap<Long, Long> pageOffsets(Vma v, List<Vma> vmas) {
        TreeMap<Long, Long> out = new TreeMap<>();
        for (Vma w : vmas) {
            if (w.getStart() != v.getStart()) {
                continue;
            }
            for (PageRun run : w.getPagesList()) {
                for (long i = 0; i < run.getCount(); i++) {
                    out.put(run.getAddress() + i * Arch.PAGE_SIZE, run.getFileOffset() + i * Arch.PAGE_SIZE);
                }
            }
        }
        return out;
    }

    private static boolean same(PageSource pages, String fileA, long a, String fileB, long b) throws IOException {
        MemorySegment x = pages.slice(fileA, a, Arch.PAGE_SIZE), y = pages.slice(fileB, b, Arch.PAGE_SIZE);
        return x.mismatch(y) == -1;
    }
}
