package dev.amber.kind.memory;

import dev.amber.image.proto.Process;
import dev.amber.image.proto.Vma;
import dev.amber.image.proto.VmaKind;
import dev.amber.kind.DumpContext;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TreeRestore;
import dev.amber.proc.MapsEntry;
import dev.amber.sys.Arch;
import dev.amber.sys.Pidfd;
import dev.amber.trace.Injector;
import java.io.IOException;
import dev.amber.image.proto.PageRun;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS) is one shmem object, one inode, in every
 * process that inherited it across fork, and in every vma of one process that mprotect or munmap
 * split it into. Each vma maps a part of it: {@code file_offset} is where in the object.
 *
 * <p>At checkpoint each page of the object is saved once, by the first vma of the tree (in this
 * process or an earlier one) whose page table has it; a page no process has in its page table
 * (only written through a descriptor of the object, or through a mapping since unmapped) is not
 * seen and comes back as zero. At restart the object is made once, as large as its furthest mapped part, by an
 * anonymous shared mapping in the first puppet that needs it; Amber keeps a descriptor of it
 * (opened through {@code /proc/self/map_files}) and every vma of the tree maps that one object at
 * its own offset.
 */
final class SharedAnon {
    private static final int PROT_RW = 3, MAP_SHARED = 0x01, MAP_ANONYMOUS = 0x20, O_RDWR = 2, O_CLOEXEC = 02000000,
            AT_FDCWD = -100;

    private SharedAnon() {}

    /** The first mapping of each object in the tree (for refusals), and the object's pages saved so far. */
    static final class Seen {
        final Map<Long, MemoryKind.FirstMapping> first = new HashMap<>();
        final Map<Long, Set<Long>> saved = new HashMap<>();   // inode -> offsets in the object of saved pages
    }

    private static Seen seen(DumpContext ctx) {
        return ctx.tree().cached(Seen.class, () -> {
            Seen made = new Seen();
            ctx.tree().atEnd(() -> OutsideMappings.check(ctx.tree(), made.first));
            return made;
        });
    }

    /** Marks {@code v} with its object, and with the first process of the tree that maps it when that is another. */
    static void mark(DumpContext ctx, MapsEntry m, Vma.Builder v) {
        v.setShmemInode(m.inode());
        MemoryKind.FirstMapping f = seen(ctx).first.putIfAbsent(m.inode(), new MemoryKind.FirstMapping(ctx.pid(), m.start()));
        if (f != null && f.pid() != ctx.pid()) {
            v.setShmemFromPid(f.pid()).setShmemFromStart(f.start());
        }
    }

    /**
     * Adds to {@code v} the runs of {@code scanned} (pages present in this vma) whose page of the
     * object no earlier vma of the tree saved, at pages file offsets from {@code offset}; returns
     * the new end offset. The object is one: a page saved once is restored in every mapping.
     */
    static long addUnsaved(DumpContext ctx, Vma.Builder v, List<PageRun> scanned, long offset) {
        Set<Long> saved = seen(ctx).saved.computeIfAbsent(v.getShmemInode(), k -> new HashSet<>());
        long runStart = -1, runPages = 0;
        for (PageRun run : scanned) {
            for (long i = 0; i < run.getCount(); i++) {
                long page = run.getAddress() + i * Arch.PAGE_SIZE;
                if (!saved.add(page - v.getStart() + v.getFileOffset())) {
                    continue;
                }
                if (runStart >= 0 && runStart + runPages * Arch.PAGE_SIZE == page) {
                    runPages++;
                    continue;
                }
                offset = addRun(v, runStart, runPages, offset);
                runStart = page;
                runPages = 1;
            }
        }
        return addRun(v, runStart, runPages, offset);
    }

    private static long addRun(Vma.Builder v, long start, long pages, long offset) {
        if (pages > 0) {
            v.addPages(PageRun.newBuilder().setAddress(start).setCount(pages).setFileOffset(offset));
        }
        return offset + pages * Arch.PAGE_SIZE;
    }

    /** A descriptor in the puppet (O_RDWR, close-on-exec) of the tree's object {@code inode}; the caller closes it. */
    static long open(RestoreContext ctx, long inode) throws IOException {
        Injector inj = ctx.injector();
        long[] made = {-1};
        int amberFd = ctx.tree().hold(List.of("shared anonymous memory", inode), () -> {
            made[0] = make(ctx, inode);
            return ctx.tree().keep(Pidfd.grab(ctx.pid(), (int) made[0]));
        });
        return made[0] >= 0 ? made[0] : TreeRestore.pullFromAmber(inj, amberFd);
    }

    /** Makes the object in the puppet, as large as the furthest part any vma of the tree maps; its fd. */
    private static long make(RestoreContext ctx, long inode) throws IOException {
        long size = 0, huge = 0;
        List<Process> all = new ArrayList<>(ctx.tree().processes());
        all.add(ctx.process());
        for (Process p : all) {
            for (Vma v : p.getMemory().getVmasList()) {
                if (v.getKind() == VmaKind.ANON_SHARED && v.getShmemInode() == inode) {
                    size = Math.max(size, v.getFileOffset() + v.getEnd() - v.getStart());
                    huge = v.getHugePageSize();
                }
            }
        }
        Injector inj = ctx.injector();
        // MAP_HUGETLB memory is made in huge pages of its size (the kernel rounds the length up to them).
        size = HugePages.align(size, huge);
        String what = (huge != 0 ? "hugetlb " : "") + "shared anonymous memory (inode " + inode + ", " + size + " bytes)";
        long at = HugePages.check(inj, "mmap " + what, huge, Arch.SYS_MMAP, 0, size, PROT_RW,
                MAP_SHARED | MAP_ANONYMOUS | HugePages.flags(HugePages.MAP_HUGETLB, huge), -1, 0);
        try {
            // The object outlives this mapping: the descriptor holds it.
            String file = String.format("/proc/self/map_files/%x-%x", at, at + size);
            return inj.check("open " + file + " for " + what, Arch.SYS_OPENAT, AT_FDCWD, inj.putString(0, file),
                    O_RDWR | O_CLOEXEC, 0);
        } finally {
            inj.call(Arch.SYS_MUNMAP, at, size);
        }
    }
}
