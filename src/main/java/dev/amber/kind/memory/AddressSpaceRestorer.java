package dev.amber.kind.memory;

import dev.amber.image.proto.FileIdentity;
import dev.amber.image.proto.Memory;
import dev.amber.image.proto.Vma;
import dev.amber.image.proto.VmaKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.file.DeletedFiles;
import dev.amber.kind.memfd.MemfdEarlyKind;
import dev.amber.proc.Maps;
import dev.amber.proc.MapsEntry;
import dev.amber.sys.Arch;
import dev.amber.sys.ProcessMemory;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
            MAP_GROWSDOWN = 0x0100, MAP_DROPPABLE = 0x08, MAP_NORESERVE = 0x4000;
    private static final int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;
    private static final int MADV_GUARD_INSTALL = 102;
    private static final int O_RDONLY = 0, O_RDWR = 2, O_CREAT = 0100, O_EXCL = 0200, O_CLOEXEC = 02000000,
            AT_FDCWD = -100;
    private static final int PR_SET_VMA = 0x53564d41, PR_SET_VMA_ANON_NAME = 0, MADV_DONTNEED = 4;

    private final RestoreContext ctx;
    private final Injector inj;
    private final Memory memory;
    private final java.util.Map<Long, Long> remadeFiles = new java.util.HashMap<>();   // inode -> puppet fd
    /** The puppet's descriptors of objects the tree shares (deleted files, shared anonymous memory), by object. */
    private final java.util.Map<List<Object>, Long> objects = new java.util.HashMap<>();
    private final java.util.Map<String, Long> openFiles = new java.util.HashMap<>();   // mode and path -> puppet fd

    AddressSpaceRestorer(RestoreContext ctx) {
        this.ctx = ctx;
        this.inj = ctx.injector();
        this.memory = ctx.process().getMemory();
    }

    void restore() throws IOException {
        moveVdso();
        List<Vma> mapped = memory.getVmasList().stream().filter(v -> switch (v.getKind()) {
            case ANON_PRIVATE, ANON_SHARED, FILE_PRIVATE, FILE_SHARED, MEMFD, AIO_RING -> true;
            default -> false;
        }).toList();
        Memory parent = ctx.tree().inheritedMemory(ctx.process().getPid());
        java.util.Set<Long> kept = new java.util.HashSet<>();
        Inherited.kept(memory, parent).forEach(v -> kept.add(v.getStart()));
        AioRestore aio = new AioRestore(inj, ctx.pid());
        for (Vma v : mapped) {
            if (!kept.contains(v.getStart()) && v.getKind() != VmaKind.AIO_RING) {
                map(v);
            }
        }
        for (Vma v : mapped) {   // last: io_setup maps each ring where it finds room
            if (v.getKind() == VmaKind.AIO_RING && !kept.contains(v.getStart())) {
                aio.remake(v);
            }
        }
        for (long fd : remadeFiles.values()) {
            inj.check("close", Arch.SYS_CLOSE, fd);
        }
        remadeFiles.clear();
        for (long fd : objects.values()) {
            inj.check("close", Arch.SYS_CLOSE, fd);
        }
        objects.clear();
        for (long fd : openFiles.values()) {
            inj.check("close", Arch.SYS_CLOSE, fd);
        }
        openFiles.clear();
        Memory fresh = memory.toBuilder().clearVmas()
                .addAllVmas(memory.getVmasList().stream().filter(v -> !kept.contains(v.getStart())).toList()).build();
        PageFiller.fill(ctx.pid(), fresh, ctx.pages());
        aio.fixIds();
        for (Vma v : mapped) {
            if (kept.contains(v.getStart()) && v.getKind() != VmaKind.AIO_RING) {
                patch(v, parent);
            }
        }
        for (Vma v : mapped) {
            finish(v);
        }
    }

    /** A mapping kept from the parent: only the pages that differ from the parent's are written. */
    private void patch(Vma v, Memory parent) throws IOException {
        Inherited.Patch p = Inherited.patch(v, memory, parent, ctx.pages());
        if (!p.writes().isEmpty() && (v.getProt() & PROT_WRITE) == 0) {
            inj.check("mprotect " + describe(v), Arch.SYS_MPROTECT, v.getStart(), v.getEnd() - v.getStart(),
                    v.getProt() | PROT_WRITE);
        }
        for (long[] w : p.writes()) {
            ProcessMemory.write(ctx.pid(), w[0], ctx.pages().slice(memory.getPagesFile(), w[1], w[2]));
        }
        for (long[] d : p.drops()) {
            inj.check("madvise(MADV_DONTNEED) " + describe(v), Arch.SYS_MADVISE, d[0], d[1], MADV_DONTNEED);
        }
    }

    private void moveVdso() throws IOException {
        List<MapsEntry> current = Maps.read(ctx.pid()).stream().filter(m -> isVdsoName(m.path())).toList();
        List<Vma> saved = memory.getVmasList().stream().filter(MemoryKind::isVdso).toList();
        for (Vma s : saved) {
            MapsEntry c = current.stream().filter(m -> m.path().equals(s.getPath())).findFirst().orElseThrow(
                    () -> new IOException("pid " + ctx.pid() + ": this kernel has no " + s.getPath() + " mapping but the image has one:"
                            + " restart on the kernel that made the image"));
            if (c.length() != s.getEnd() - s.getStart()) {
                throw new IOException(String.format("pid %d: %s is %d bytes here but %d in the image: the vDSO"
                        + " differs, restart on the kernel that made the image", ctx.pid(), s.getPath(), c.length(),
                        s.getEnd() - s.getStart()));
            }
            if (s.getPath().equals("[vdso]") && !memory.getVdsoText().isEmpty() && !Arrays.equals(
                    ProcessMemory.read(ctx.pid(), c.start(), (int) c.length()), memory.getVdsoText().toByteArray())) {
                throw new IOException("pid " + ctx.pid() + ": the vDSO code of this kernel differs from the image's:"
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

    /** Creates the mapping, writable while it is filled. */
    private void map(Vma v) throws IOException {
        long length = v.getEnd() - v.getStart();
        // Flags only mmap can give: growing down, no swap reservation, droppable (a mapping type of its own).
        int type = v.getShared() ? MAP_SHARED : v.getVmFlagsList().contains("dp") ? MAP_DROPPABLE : MAP_PRIVATE;
        int flags = MAP_FIXED | type | (v.getVmFlagsList().contains("gd") ? MAP_GROWSDOWN : 0)
                | (v.getVmFlagsList().contains("nr") ? MAP_NORESERVE : 0);
        String what = describe(v);
        long huge = v.getHugePageSize();
        if (v.getKind() == VmaKind.ANON_SHARED && v.getShmemInode() != 0) {
            long fd = objectFd(List.of("anon", v.getShmemInode()), () -> SharedAnon.open(ctx, v.getShmemInode()));
            HugePages.check(inj, what, huge, Arch.SYS_MMAP, v.getStart(), length, fillProt(v), flags, fd, v.getFileOffset());
            return;
        }
        if (v.getKind() == VmaKind.ANON_PRIVATE || v.getKind() == VmaKind.ANON_SHARED) {
            HugePages.check(inj, what, huge, Arch.SYS_MMAP, v.getStart(), length, fillProt(v),
                    flags | MAP_ANONYMOUS | HugePages.flags(HugePages.MAP_HUGETLB, huge), -1, 0);
            return;
        }
        if (v.getKind() == VmaKind.MEMFD) {   // the same memfd the descriptors get, made by kind.memfd
            int fd = MemfdEarlyKind.temporaryFd(ctx.process(), v.getFileIdentity().getInode());
            HugePages.check(inj, what, huge, Arch.SYS_MMAP, v.getStart(), length, fillProt(v), flags, fd, v.getFileOffset());
            return;
        }
        if (v.getDeleted()) {   // the tree's one remade file, whichever process maps it
            FileIdentity id = v.getFileIdentity();
            long fd = objectFd(List.of("deleted", id.getDev(), id.getInode()),
                    () -> DeletedFiles.open(ctx, id.getDev(), id.getInode(), what));
            inj.check(what, Arch.SYS_MMAP, v.getStart(), length, fillProt(v), flags, fd, v.getFileOffset());
            return;
        }
        if (!v.getContents().isEmpty() && !Files.exists(Path.of(v.getPath()))) {
            inj.check(what, Arch.SYS_MMAP, v.getStart(), length, fillProt(v), flags, remade(v), v.getFileOffset());
            return;
        }
        // A shared mapping may become writable (mprotect) only if its file was opened for writing:
        // VM_MAYWRITE ("mw") says so, whatever its protection is now.
        boolean writable = v.getShared() && ((v.getProt() & PROT_WRITE) != 0 || v.getVmFlagsList().contains("mw"));
        long path = inj.putString(0, v.getPath());
        // A library has four or five mappings: its file is opened once for all of them.
        String key = (writable ? "w:" : "r:") + v.getPath();
        Long fd = openFiles.get(key);
        if (fd == null) {
            fd = inj.check("open " + v.getPath(), Arch.SYS_OPENAT, AT_FDCWD, path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
            openFiles.put(key, fd);
        }
        inj.check(what, Arch.SYS_MMAP, v.getStart(), length, fillProt(v), flags, fd, v.getFileOffset());
    }

    private interface Opener {
        long open() throws IOException;
    }

    /** The puppet's descriptor of shared object {@code key}, taken once for all of its mappings here. */
    private long objectFd(List<Object> key, Opener open) throws IOException {
        Long fd = objects.get(key);
        if (fd == null) {
            fd = open.open();
            objects.put(key, fd);
        }
        return fd;
    }

    /**
     * The puppet's descriptor of a vanished shared file (hsperfdata) made again from the image's
     * contents (once per inode), under its name, and kept. The contents are written by the tool
     * through {@code /proc/PUPPET/fd/N}.
     */
    private long remade(Vma v) throws IOException {
        long inode = v.getFileIdentity().getInode();
        Long fd = remadeFiles.get(inode);
        if (fd != null) {
            return fd;
        }
        Path path = Path.of(v.getPath());
        Files.createDirectories(path.getParent());
        long made = inj.check("create " + v.getPath(), Arch.SYS_OPENAT, AT_FDCWD, inj.putString(0, v.getPath()),
                O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        Files.write(Path.of("/proc/" + ctx.pid() + "/fd/" + made), v.getContents().toByteArray());
        remadeFiles.put(inode, made);
        return made;
    }

    /** Once filled: the saved protection, advice, lock and name. */
    private void finish(Vma v) throws IOException {
        long length = v.getEnd() - v.getStart();
        String what = describe(v);
        if (fillProt(v) != v.getProt()) {
            inj.check("mprotect " + what, Arch.SYS_MPROTECT, v.getStart(), length, v.getProt());
        }
        for (String flag : v.getVmFlagsList()) {
            Integer advice = VmaClassifier.ADVISED_FLAGS.get(flag);
            if (advice != null) {
                inj.check("madvise " + flag + " " + what, Arch.SYS_MADVISE, v.getStart(), length, advice);
            }
        }
        for (var guard : v.getGuardsList()) {   // after the pages: any access to a guard page faults
            inj.check(String.format("madvise(MADV_GUARD_INSTALL) 0x%x, %d pages, of %s", guard.getAddress(),
                    guard.getCount(), what), Arch.SYS_MADVISE, guard.getAddress(), guard.getCount() * Arch.PAGE_SIZE,
                    MADV_GUARD_INSTALL);
        }
        if (v.getVmFlagsList().contains("lo")) {
            inj.check("mlock " + what, Arch.SYS_MLOCK, v.getStart(), length);
        }
        if (v.getPath().startsWith("[anon:")) {
            String name = v.getPath().substring(6, v.getPath().length() - 1);
            inj.check("name " + what, Arch.SYS_PRCTL, PR_SET_VMA, PR_SET_VMA_ANON_NAME, v.getStart(), length,
                    inj.putString(0, name));
        }
    }

    private static int fillProt(Vma v) {
        return v.getProt() | (v.getPagesCount() > 0 ? PROT_WRITE : 0);
    }

    private static String describe(Vma v) {
        return String.format("mmap 0x%x-0x%x %s", v.getStart(), v.getEnd(), v.getPath());
    }
}
