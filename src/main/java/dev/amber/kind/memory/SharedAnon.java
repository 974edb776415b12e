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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS) is one shmem object, one inode, in every
 * process that inherited it across fork, and in every vma of one process that mprotect or munmap
 * split it into. Each vma maps a part of it: {@code file_offset} is where in the object.
 *
 * <p>At checkpoint each page of the object is saved once: a vma saves its pages unless earlier
 * vmas of the tree (this process's or an earlier one's) already cover its whole part of the
 * object. At restart the object is made once, as large as its furthest mapped part, by an
 * anonymous shared mapping in the first puppet that needs it; Amber keeps a descriptor of it
 * (opened through {@code /proc/self/map_files}) and every vma of the tree maps that one object at
 * its own offset.
 */
final class SharedAnon {
    private static final int PROT_RW = 3, MAP_SHARED = 0x01, MAP_ANONYMOUS = 0x20, O_RDWR = 2, O_CLOEXEC = 02000000,
            AT_FDCWD = -100;

    private SharedAnon() {}

    /** The first mapping of each object in the tree (for refusals), and the parts of it saved so far. */
    static final class Seen {
        final Map<Long, MemoryKind.FirstMapping> first = new HashMap<>();
        final Map<Long, List<long[]>> saved = new HashMap<>();   // inode -> {offset, end} in the object
    }

    /**
     * Marks {@code v} with its object and says whether its pages are already saved by earlier
     * vmas of the tree, which cover its whole part of the object.
     */
    static boolean savedEarlier(DumpContext ctx, MapsEntry m, Vma.Builder v) {
        Seen seen = ctx.tree().cached(Seen.class, () -> {
            Seen made = new Seen();
            ctx.tree().atEnd(() -> OutsideMappings.check(ctx.tree(), made.first));
            return made;
        });
        v.setShmemInode(m.inode());
        MemoryKind.FirstMapping f = seen.first.putIfAbsent(m.inode(), new MemoryKind.FirstMapping(ctx.pid(), m.start()));
        if (f != null && f.pid() != ctx.pid()) {
            v.setShmemFromPid(f.pid()).setShmemFromStart(f.start());
        }
        List<long[]> parts = seen.saved.computeIfAbsent(m.inode(), k -> new ArrayList<>());
        long from = m.offset(), to = m.offset() + m.length();
        if (covered(parts, from, to)) {
            return true;
        }
        parts.add(new long[] {from, to});
        return false;
    }

    /** Whether [{@code from}, {@code to}) lies within the union of {@code parts}. */
    static boolean covered(List<long[]> parts, long from, long to) {
        List<long[]> sorted = new ArrayList<>(parts);
        sorted.sort((a, b) -> Long.compare(a[0], b[0]));
        long at = from;
        for (long[] p : sorted) {
            if (p[0] <= at && p[1] > at) {
                at = p[1];
            }
        }
        return at >= to;
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
        long size = 0;
        List<Process> all = new ArrayList<>(ctx.tree().processes());
        all.add(ctx.process());
        for (Process p : all) {
            for (Vma v : p.getMemory().getVmasList()) {
                if (v.getKind() == VmaKind.ANON_SHARED && v.getShmemInode() == inode) {
                    size = Math.max(size, v.getFileOffset() + v.getEnd() - v.getStart());
                }
            }
        }
        Injector inj = ctx.injector();
        String what = "shared anonymous memory (inode " + inode + ", " + size + " bytes)";
        long at = inj.check("mmap " + what, Arch.SYS_MMAP, 0, size, PROT_RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
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
