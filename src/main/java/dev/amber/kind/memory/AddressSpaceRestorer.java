package dev.amber.kind.memory;

import dev.amber.image.proto.Memory;
import dev.amber.image.proto.PageRun;
import dev.amber.image.proto.Vma;
import dev.amber.image.proto.VmaKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.Maps;
import dev.amber.proc.MapsEntry;
import dev.amber.sys.Arch;
import dev.amber.sys.ProcessMemory;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Rebuilds the saved mappings in a puppet whose own memory is already gone (all but the
 * work area and the vDSO). The vDSO, [vvar] and [vvar_vclock] are moved (mremap) to exactly
 * their saved addresses, keeping their relative layout: the restored libc has the saved vDSO
 * entry points cached. Every other mapping is created at its address, filled, then given its
 * final protection (process_vm_writev cannot write read-only pages).
 */
final class AddressSpaceRestorer {
    private static final int PROT_WRITE = 2;
    private static final int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_GROWSDOWN = 0x0100;
    private static final int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;
    private static final int O_RDONLY = 0, O_RDWR = 2, O_CLOEXEC = 02000000, AT_FDCWD = -100, MADV_POPULATE_WRITE = 23, SYS_MLOCK = 149;
    private static final int PR_SET_VMA = 0x53564d41, PR_SET_VMA_ANON_NAME = 0;

    private final RestoreContext ctx;
    private final Injector inj;
    private final Memory memory;
    private long pagesFd = -1;

    AddressSpaceRestorer(RestoreContext ctx) {
        this.ctx = ctx;
        this.inj = ctx.injector();
        this.memory = ctx.process().getMemory();
    }

    void restore() throws IOException {
        moveVdso();
        long pagesPath = inj.putString(0, ctx.pages().path(memory.getPagesFile()).toString());
        pagesFd = inj.call(Arch.SYS_OPENAT, AT_FDCWD, pagesPath, O_RDONLY | O_CLOEXEC, 0);
        try {
            for (Vma v : memory.getVmasList()) {
                switch (v.getKind()) {
                    case ANON_PRIVATE, ANON_SHARED, FILE_PRIVATE, FILE_SHARED -> map(v);
                    default -> { }
                }
            }
        } finally {
            if (pagesFd >= 0) {
                inj.call(Arch.SYS_CLOSE, pagesFd);
            }
        }
    }

    /**
     * Fills a run of pages: the puppet reads them from the page file itself (one copy, from the
     * page cache straight into its memory); if it cannot open the file, the tool writes them.
     */
    private void fill(PageRun run) throws IOException {
        long bytes = run.getCount() * Arch.PAGE_SIZE;
        if (pagesFd < 0) {
            ProcessMemory.write(ctx.pid(), run.getAddress(),
                    ctx.pages().slice(memory.getPagesFile(), run.getFileOffset(), bytes));
            return;
        }
        // Fault the pages in with one call (MADV_POPULATE_WRITE) rather than one fault per page in pread.
        inj.call(Arch.SYS_MADVISE, run.getAddress(), bytes, MADV_POPULATE_WRITE);
        for (long done = 0; done < bytes; ) {
            long n = Math.min(bytes - done, 1L << 30);
            long r = inj.check(String.format("pread pages at 0x%x", run.getAddress() + done), Arch.SYS_PREAD64,
                    pagesFd, run.getAddress() + done, n, run.getFileOffset() + done);
            if (r == 0) {
                throw new IOException("page file " + memory.getPagesFile() + " ends before offset "
                        + (run.getFileOffset() + done) + ": the image is truncated");
            }
            done += r;
        }
    }

    private void moveVdso() throws IOException {
        List<MapsEntry> current = Maps.read(ctx.pid()).stream().filter(m -> isVdsoName(m.path())).toList();
        List<Vma> saved = memory.getVmasList().stream().filter(MemoryKind::isVdso).toList();
        for (Vma s : saved) {
            MapsEntry c = current.stream().filter(m -> m.path().equals(s.getPath())).findFirst().orElseThrow(
                    () -> new IOException("this kernel has no " + s.getPath() + " mapping but the image has one:"
                            + " restart on the kernel that made the image"));
            if (c.length() != s.getEnd() - s.getStart()) {
                throw new IOException(String.format("%s is %d bytes here but %d in the image: the vDSO differs,"
                        + " restart on the kernel that made the image", s.getPath(), c.length(), s.getEnd() - s.getStart()));
            }
            if (s.getPath().equals("[vdso]") && !memory.getVdsoText().isEmpty() && !Arrays.equals(
                    ProcessMemory.read(ctx.pid(), c.start(), (int) c.length()), memory.getVdsoText().toByteArray())) {
                throw new IOException("the vDSO code of this kernel differs from the image's:"
                        + " restart on the kernel build that made the image");
            }
        }
        // Two steps, through a free range, so that no move lands on a mapping not yet moved.
        AddressSpace space = new AddressSpace();
        current.forEach(m -> space.add(m.start(), m.end()));
        memory.getVmasList().forEach(v -> space.add(v.getStart(), v.getEnd()));
        space.add(inj.scratch() & -(1L << 20), inj.scratch() + Injector.SCRATCH_SIZE + (1L << 20));
        long total = current.stream().mapToLong(m -> m.length() + Arch.PAGE_SIZE).sum();
        long temp = space.findFree(total);
        List<long[]> parked = new ArrayList<>();
        for (MapsEntry c : current) {
            inj.check("mremap " + c.path(), Arch.SYS_MREMAP, c.start(), c.length(), c.length(),
                    MREMAP_MAYMOVE | MREMAP_FIXED, temp);
            parked.add(new long[] {temp, c.length()});
            temp += c.length() + Arch.PAGE_SIZE;
        }
        for (int i = 0; i < current.size(); i++) {
            MapsEntry c = current.get(i);
            Vma s = saved.stream().filter(v -> v.getPath().equals(c.path())).findFirst().orElse(null);
            long[] p = parked.get(i);
            if (s == null) {
                inj.check("munmap " + c.path(), Arch.SYS_MUNMAP, p[0], p[1]);
            } else {
                inj.check("mremap " + c.path(), Arch.SYS_MREMAP, p[0], p[1], p[1], MREMAP_MAYMOVE | MREMAP_FIXED,
                        s.getStart());
            }
        }
    }

    static boolean isVdsoName(String path) {
        return path.equals("[vdso]") || path.equals("[vvar]") || path.equals("[vvar_vclock]");
    }

    private void map(Vma v) throws IOException {
        long length = v.getEnd() - v.getStart();
        boolean fill = v.getPagesCount() > 0;
        int prot = v.getProt() | (fill ? PROT_WRITE : 0);
        int flags = MAP_FIXED | (v.getShared() ? MAP_SHARED : MAP_PRIVATE)
                | (v.getVmFlagsList().contains("gd") ? MAP_GROWSDOWN : 0);
        String what = String.format("mmap 0x%x-0x%x %s", v.getStart(), v.getEnd(), v.getPath());
        if (v.getKind() == VmaKind.ANON_PRIVATE || v.getKind() == VmaKind.ANON_SHARED) {
            inj.check(what, Arch.SYS_MMAP, v.getStart(), length, prot, flags | MAP_ANONYMOUS, -1, 0);
        } else {
            boolean writable = v.getShared() && (v.getProt() & PROT_WRITE) != 0;
            long path = inj.putString(0, v.getPath());
            long fd = inj.check("open " + v.getPath(), Arch.SYS_OPENAT, AT_FDCWD, path, writable ? O_RDWR : O_RDONLY, 0);
            try {
                inj.check(what, Arch.SYS_MMAP, v.getStart(), length, prot, flags, fd, v.getFileOffset());
            } finally {
                inj.call(Arch.SYS_CLOSE, fd);
            }
        }
        for (PageRun run : v.getPagesList()) {
            fill(run);
        }
        if (prot != v.getProt()) {
            inj.check("mprotect " + what, Arch.SYS_MPROTECT, v.getStart(), length, v.getProt());
        }
        for (String flag : v.getVmFlagsList()) {
            Integer advice = VmaClassifier.ADVISED_FLAGS.get(flag);
            if (advice != null) {
                inj.check("madvise " + flag + " " + what, Arch.SYS_MADVISE, v.getStart(), length, advice);
            }
        }
        if (v.getVmFlagsList().contains("lo")) {
            inj.check("mlock " + what, SYS_MLOCK, v.getStart(), length);
        }
        if (v.getPath().startsWith("[anon:")) {
            String name = v.getPath().substring(6, v.getPath().length() - 1);
            inj.check("name " + what, Arch.SYS_PRCTL, PR_SET_VMA, PR_SET_VMA_ANON_NAME, v.getStart(), length,
                    inj.putString(0, name));
        }
    }
}
