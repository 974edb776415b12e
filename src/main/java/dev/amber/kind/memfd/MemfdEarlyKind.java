package dev.amber.kind.memfd;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Memfd;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.ProcessOrBuilder;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.memory.HugePages;
import dev.amber.proc.Fds;
import dev.amber.proc.Maps;
import dev.amber.proc.MapsEntry;
import dev.amber.proc.Smaps;
import dev.amber.proc.SmapsEntry;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every memfd of the process, made before its memory: a mapping of a memfd must map the same
 * memfd as the process's descriptors of it, and memory is restored before descriptors. So this
 * kind creates each saved memfd (one per inode) at a temporary descriptor above every saved one
 * ({@link #temporaryFd}), with its permissions, owner, contents and most seals; the address space
 * maps from there, the descriptor table reopens it ({@link MemfdKind}), and {@link MemfdLateKind}
 * adds the last seals and closes the temporary.
 *
 * <p>At checkpoint this kind saves the memfds that are only mapped (the descriptor closed after
 * mmap, as Wayland and many allocators do) into {@code Memory.memfds}; the descriptor table
 * saves the others.
 */
public final class MemfdEarlyKind implements ProcessKind {
    private static final int MFD_ALLOW_SEALING = 2, MFD_EXEC = 0x10;
    static final int F_ADD_SEALS = 1033;
    static final int F_SEAL_SEAL = 1, F_SEAL_FUTURE_WRITE = 0x10;
    /**
     * Seals added only once the mappings exist: F_SEAL_FUTURE_WRITE forbids the writable shared
     * mappings the process made before sealing, and F_SEAL_SEAL forbids adding it. The rest go on
     * as soon as the contents are in: F_SEAL_WRITE must come before a read-only shared mapping is
     * made (the kernel then drops its VM_MAYWRITE; sealed after, it would fail with EBUSY).
     */
    static final int LATE_SEALS = F_SEAL_SEAL | F_SEAL_FUTURE_WRITE;
    private static final int EINVAL = 22, SYS_FTRUNCATE = 77;
    // x86-64 numbers, which Arch does not list yet.

    @Override
    public String name() {
        return "memfd-early";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        int pid = ctx.pid();
        Set<Long> open = new HashSet<>();
        for (int fd : Fds.list(pid)) {
            Path link = Path.of("/proc/" + pid + "/fd/" + fd);
            if (MemfdFile.isMemfd(Fds.readLink(pid, fd))) {
                open.add((Long) Files.getAttribute(link, "unix:ino"));
            }
        }
        Map<Long, MapsEntry> mappedOnly = new LinkedHashMap<>();
        for (MapsEntry m : Maps.read(pid)) {
            if (MemfdFile.isMemfd(m.path()) && !open.contains(m.inode())) {
                mappedOnly.putIfAbsent(m.inode(), m);
            }
        }
        if (mappedOnly.isEmpty()) {
            return;
        }
        Map<Long, Long> hugetlb = new java.util.HashMap<>();   // inode -> huge page size (smaps KernelPageSize)
        for (SmapsEntry s : Smaps.read(pid)) {
            if (s.vmFlags().contains("ht")) {
                hugetlb.put(s.mapping().inode(), s.fields().getOrDefault("KernelPageSize", 0L) * 1024);
            }
        }
        var memory = ctx.process().getMemoryBuilder();
        for (MapsEntry m : mappedOnly.values()) {
            Path file = Path.of(String.format("/proc/%d/map_files/%x-%x", pid, m.start(), m.end()));
            String name = MemfdFile.name(m.path());
            String where = String.format("address 0x%x-0x%x", m.start(), m.end());
            long held = MemfdFile.held(memfds(ctx.process()));
            long size = MemfdFile.size(file);
            if (held + size > MemfdFile.MAX_BYTES) {
                ctx.refuse(where, "memfd " + name + " (mapped, no descriptor)", tooLarge(size, held));
                continue;
            }
            memory.addMemfds(MemfdFile.read(file, name).setHugePageSize(hugetlb.getOrDefault(m.inode(), 0L)));
        }
    }

    static String tooLarge(long size, long held) {
        return String.format("holds %d bytes, over the %d an image carries for the memfds of a process"
                + " (%d taken by its others): not supported yet", size, MemfdFile.MAX_BYTES, held);
    }

    /**
     * Every saved memfd record, descriptors first, then the only-mapped ones. The first record of
     * an inode holds the contents; later ones (reopened through /proc/self/fd) refer to it.
     */
    static List<Memfd> memfds(ProcessOrBuilder p) {
        List<Memfd> all = new ArrayList<>();
        for (Descriptor d : p.getDescriptorsList()) {
            if (d.getKindCase() == Descriptor.KindCase.MEMFD) {
                all.add(d.getMemfd());
            }
        }
        all.addAll(p.getMemoryOrBuilder().getMemfdsList());
        return all;
    }

    /** One record per memfd (the first of its inode), in the order of {@link #memfds}. */
    static List<Memfd> distinct(Process p) {
        Map<Long, Memfd> first = new LinkedHashMap<>();
        memfds(p).forEach(m -> first.putIfAbsent(m.getInode(), m));
        return List.copyOf(first.values());
    }

    /**
     * The puppet's descriptor that holds the memfd saved with {@code inode} from this kind's
     * restore until {@link MemfdLateKind}'s: a number the process does not use
     * ({@link dev.amber.kind.SpareFds}), so the descriptor table never lands on it.
     */
    public static int temporaryFd(Process p, long inode) {
        List<Memfd> distinct = distinct(p);
        for (int i = 0; i < distinct.size(); i++) {
            if (distinct.get(i).getInode() == inode) {
                return dev.amber.kind.SpareFds.memfdTemporary(p, distinct.size(), i);
            }
        }
        throw new IllegalStateException("image holds no memfd of inode " + inode);
    }

    /** How many temporaries the restore of {@code p} holds (one per distinct memfd). */
    public static int temporaries(Process p) {
        return distinct(p).size();
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        Injector inj = ctx.injector();
        for (Memfd m : distinct(ctx.process())) {
            int temporary = temporaryFd(ctx.process(), m.getInode());
            boolean[] made = {false};
            // One memfd for the whole tree: made by the first process that has it, a copy kept in
            // Amber, and every later process takes that copy (a memfd inherited across fork).
            int amberFd = ctx.tree().hold(amberKey(m.getInode()), () -> {
                create(ctx, m, temporary);
                made[0] = true;
                return ctx.tree().keep(dev.amber.sys.Pidfd.grab(ctx.pid(), temporary));
            });
            if (!made[0]) {
                long fd = dev.amber.kind.TreeRestore.pullFromAmber(inj, amberFd);
                inj.check("dup3 memfd to fd " + temporary, Arch.SYS_DUP3, fd, temporary, 0);
                inj.check("close fd " + fd, Arch.SYS_CLOSE, fd);
            }
        }
    }

    /** Where Amber's copy of the tree's memfd of {@code inode} is kept in the restart's TreeRestore. */
    static java.util.List<Object> amberKey(long inode) {
        return java.util.List.of("memfd", inode);
    }

    /**
     * memfd_create with MFD_ALLOW_SEALING (the saved seals are added at the end; one made without
     * it shows F_SEAL_SEAL, which is added then too) and MFD_EXEC, so that vm.memfd_noexec does
     * not seal it before its saved mode is set (before Linux 6.3 the flag does not exist).
     */
    private static void create(RestoreContext ctx, Memfd m, int temporary) throws IOException {
        Injector inj = ctx.injector();
        String what = "memfd " + m.getName() + " (inode " + m.getInode() + ")";
        if (m.getContents().size() != m.getSize()) {
            throw new IOException("image: " + what + " has " + m.getContents().size() + " bytes of contents for size "
                    + m.getSize() + ": the image is corrupt");
        }
        long name = inj.putString(0, m.getName());
        int huge = HugePages.flags(HugePages.MFD_HUGETLB, m.getHugePageSize());
        long fd = inj.call(Arch.SYS_MEMFD_CREATE, name, MFD_ALLOW_SEALING | MFD_EXEC | huge);
        if (fd == -EINVAL) {
            fd = inj.check("memfd_create " + what, Arch.SYS_MEMFD_CREATE, name, MFD_ALLOW_SEALING | huge);
        } else {
            fd = dev.amber.sys.ErrnoException.check(fd, "memfd_create " + what, "in pid " + ctx.pid());
        }
        inj.check("dup3 " + what + " to fd " + temporary, Arch.SYS_DUP3, fd, temporary, 0);
        inj.check("close fd " + fd, Arch.SYS_CLOSE, fd);
        inj.check("fchmod " + what, Arch.SYS_FCHMOD, temporary, m.getMode());
        inj.check("fchown " + what, Arch.SYS_FCHOWN, temporary, m.getUid(), m.getGid());
        // The tool writes through the puppet's descriptor: the same memfd, at 1 GiB/s and more.
        Path file = Path.of("/proc/" + ctx.pid() + "/fd/" + temporary);
        if (m.getHugePageSize() != 0) {   // hugetlbfs has no write(): its size is set, its pages mapped
            inj.check("ftruncate " + what, SYS_FTRUNCATE, temporary, m.getSize());
            MemfdFile.writeMapped(file, m.getContents(), m.getHugePageSize(), what);
        } else {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ByteBuffer contents = m.getContents().asReadOnlyByteBuffer();
                while (contents.hasRemaining()) {
                    ch.write(contents, contents.position());
                }
            }
        }
        if ((m.getSeals() & ~LATE_SEALS) != 0) {
            inj.check("fcntl(F_ADD_SEALS) " + what, Arch.SYS_FCNTL, temporary, F_ADD_SEALS, m.getSeals() & ~LATE_SEALS);
        }
    }
}
