package dev.amber.kind.memory;

import dev.amber.image.proto.Memory;
import dev.amber.image.proto.Vma;
import dev.amber.image.proto.VmaKind;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.Maps;
import dev.amber.proc.MapsEntry;
import dev.amber.proc.PagemapReader;
import dev.amber.proc.Pagemap;
import dev.amber.proc.Smaps;
import dev.amber.proc.SmapsEntry;
import dev.amber.sys.PagemapScan;
import dev.amber.sys.ProcessMemory;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A process's address space: every mapping with its protection, flags and name, the pages
 * that hold data, the vDSO, and the mm bounds ({@link MmBoundsKind}). Pages are written in a
 * second step ({@link PageDumper}) once the checkpoint knows nothing is refused.
 */
public final class MemoryKind implements ProcessKind {
    public static final String NAME = "memory";

    @Override
    public String name() {
        return NAME;
    }

    public static String pagesFile(int pid) {
        return "pages-" + pid + ".img";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        int pid = ctx.pid();
        List<MapsEntry> maps = Maps.read(pid);
        Map<Long, SmapsEntry> smaps = new HashMap<>();
        for (SmapsEntry s : Smaps.read(pid)) {
            smaps.put(s.start(), s);
        }
        Memory.Builder memory = ctx.process().getMemoryBuilder().setPagesFile(pagesFile(pid));
        long offset = 0;
        List<Vma.Builder> vmas = new java.util.ArrayList<>();
        try (PagemapReader pagemap = Pagemap.open(pid); PagemapScan scan = PagemapScan.open(pid)) {
            for (MapsEntry m : maps) {
                if (m.start() == ctx.scratch()) {
                    continue;   // amber's own, mapped for the injected calls
                }
                var vma = VmaClassifier.classify(ctx, m, smaps.get(m.start()));
                if (vma.isEmpty()) {
                    continue;
                }
                if (vma.get().getKind() == VmaKind.ANON_SHARED) {
                    SharedAnon.mark(ctx, m, vma.get());
                    if (!m.shared()) {   // a private mapping of the object: only its own copies are saved
                        offset = scan != null ? PageScanner.scan(scan, vma.get(), offset)
                                : PageScanner.scan(pagemap, vma.get(), offset);
                    } else if (mayHoldPages(VmaKind.ANON_SHARED, smaps.get(m.start()))) {
                        Vma.Builder present = vma.get().clone();
                        if (scan != null) {
                            PageScanner.scan(scan, present, 0);
                        } else {
                            PageScanner.scan(pagemap, present, 0);
                        }
                        offset = SharedAnon.addUnsaved(ctx, vma.get(), present.getPagesList(), offset);
                    }
                    vmas.add(vma.get());
                    continue;
                }
                if (vma.get().getKind() == VmaKind.AIO_RING) {
                    offset = AioRings.pages(vma.get(), offset);
                } else if (vma.get().getVmFlagsList().contains("dp")) {
                    // MAP_DROPPABLE: memory the kernel may drop (zero) whenever it wants, such as
                    // getrandom's vDSO state, which two restarts of one image must not share:
                    // restored dropped.
                } else if (mayHoldPages(vma.get().getKind(), smaps.get(m.start()))) {
                    offset = scan != null ? PageScanner.scan(scan, vma.get(), offset)
                            : PageScanner.scan(pagemap, vma.get(), offset);
                }
                if (m.path().equals("[vdso]")) {
                    memory.setVdsoText(com.google.protobuf.ByteString.copyFrom(
                            ProcessMemory.read(pid, m.start(), (int) m.length())));
                }
                vmas.add(vma.get());
            }
            PageScanner.guards(scan, vmas);
        }
        vmas.forEach(memory::addVmas);
    }

    /** The first mapping of each shared anonymous memory object in the tree: pid and start, by inode. */
    record FirstMapping(int pid, long start) {}

    /**
     * Whether a mapping can have pages to save, from its smaps counters: a private mapping's
     * saved pages are anonymous (never touched, or still the file's, they are not), a shared
     * anonymous one's are resident or swapped. Saves reading the pagemap of every library and of
     * large untouched reservations.
     */
    private static boolean mayHoldPages(dev.amber.image.proto.VmaKind kind, SmapsEntry s) {
        if (s == null) {
            return true;
        }
        if (s.vmFlags().contains("ht")) {   // hugetlb pages count apart from Rss and Anonymous
            return s.fields().getOrDefault("Private_Hugetlb", 1L) + s.fields().getOrDefault("Shared_Hugetlb", 1L) > 0;
        }
        return switch (kind) {
            case ANON_PRIVATE, FILE_PRIVATE, MEMFD -> s.anonymousKb() + s.swapKb() > 0;
            case ANON_SHARED -> s.rssKb() + s.swapKb() > 0;
            default -> false;
        };
    }

    /** Bytes of page data the image holds for {@code memory}. */
    public static long savedBytes(Memory memory) {
        long total = 0;
        for (Vma v : memory.getVmasList()) {
            for (var run : v.getPagesList()) {
                total += run.getCount() * dev.amber.sys.Arch.PAGE_SIZE;
            }
        }
        return total;
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        new AddressSpaceRestorer(ctx).restore();
    }

    static boolean isVdso(Vma v) {
        return v.getKind() == VmaKind.VDSO;
    }
}
