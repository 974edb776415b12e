package dev.amber.kind.memory;

import dev.amber.image.proto.FileIdentity;
import dev.amber.image.proto.Vma;
import dev.amber.image.proto.VmaKind;
import dev.amber.kind.DumpContext;
import dev.amber.proc.MapsEntry;
import dev.amber.proc.SmapsEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Sorts each mapping of {@code /proc/PID/maps} into a {@link VmaKind}, or refuses it with the
 * reason. Shared anonymous memory shows as {@code /dev/zero (deleted)} (shmem inode); SysV
 * segments as {@code /SYSV…}; memfd as {@code /memfd:…}.
 */
final class VmaClassifier {
    /** smaps VmFlags a restore puts back with madvise(2), and the advice for each. */
    static final Map<String, Integer> ADVISED_FLAGS = Map.of(
            "rr", 1,    // MADV_RANDOM
            "sr", 2,    // MADV_SEQUENTIAL
            "mg", 12,   // MADV_MERGEABLE (KSM)
            "dc", 10,   // MADV_DONTFORK
            "dd", 16,   // MADV_DONTDUMP
            "wf", 18,   // MADV_WIPEONFORK
            "hg", 14,   // MADV_HUGEPAGE
            "nh", 15);  // MADV_NOHUGEPAGE
    /**
     * VmFlags kept in the image: those above and the ones given to mmap or mlock, and may-write
     * ({@code mw}), which on a shared file mapping says the file was opened for writing, so that
     * mprotect(PROT_WRITE) works on it however it is mapped now.
     */
    private static final Set<String> KEPT_FLAGS = Set.of("gd", "dc", "dd", "wf", "hg", "nh", "lo", "rr", "sr", "mg", "nr", "dp",
            "mw");

    private VmaClassifier() {}

    static Optional<Vma.Builder> classify(DumpContext ctx, MapsEntry m, SmapsEntry smaps) throws IOException {
        Vma.Builder v = Vma.newBuilder()
                .setStart(m.start()).setEnd(m.end())
                .setProt((m.read() ? 1 : 0) | (m.write() ? 2 : 0) | (m.exec() ? 4 : 0))
                .setShared(m.shared())
                .setPath(m.path())
                .setFileOffset(m.offset());
        if (smaps != null) {
            smaps.vmFlags().stream().filter(KEPT_FLAGS::contains).sorted().forEach(v::addVmFlags);
        }
        String where = String.format("address 0x%x-0x%x", m.start(), m.end());
        String path = m.path();
        if (path.equals("[vdso]") || path.equals("[vvar]") || path.equals("[vvar_vclock]")) {
            return Optional.of(v.setKind(VmaKind.VDSO));
        }
        if (path.equals("[vsyscall]")) {
            return Optional.of(v.setKind(VmaKind.VSYSCALL));
        }
        if (path.isEmpty() || path.equals("[heap]") || path.equals("[stack]") || path.startsWith("[anon:")) {
            if (m.shared()) {
                ctx.refuse(where, "shared anonymous memory", "unexpected shared mapping without a shmem file");
                return Optional.empty();
            }
            return Optional.of(v.setKind(VmaKind.ANON_PRIVATE));
        }
        if (path.startsWith("/dev/zero") && m.deleted() || path.startsWith("/dev/zero (deleted)")) {
            // A shmem object of shared anonymous memory. Mapped MAP_PRIVATE too (through its
            // map_files link, say), it is a private file mapping of that object: its pages not
            // written since follow the object; so it is kept with the object (shared = false).
            return Optional.of(v.setKind(VmaKind.ANON_SHARED));
        }
        if (path.startsWith("/SYSV")) {
            // The segment itself is saved by kind.ipc; the maps inode column is its shmid.
            return Optional.of(v.setKind(VmaKind.SYSV_SHM).setFileIdentity(FileIdentity.newBuilder().setInode(m.inode())));
        }
        if (path.equals("anon_inode:[io_uring]")) {   // its rings, mmapped from the instance's descriptor
            ctx.refuse(where, "io_uring rings", dev.amber.kind.file.FileClass.IO_URING);
            return Optional.empty();
        }
        if (AioRings.isRing(m)) {
            return AioRings.dump(ctx, m, v, where);
        }
        if (path.startsWith("/memfd:") && m.deleted()) {
            // The memfd itself is saved by kind.memfd, found again by its inode (a hugetlb one too).
            return Optional.of(v.setKind(VmaKind.MEMFD).setFileIdentity(FileIdentity.newBuilder().setInode(m.inode()))
                    .setHugePageSize(hugePageSize(smaps)));
        }
        if (smaps != null && smaps.vmFlags().contains("ht")) {
            // MAP_HUGETLB memory shows as an unlinked file of the kernel's hugetlbfs mount for its
            // page size: anonymous memory in huge pages, private or shared (one object across fork).
            if (!path.equals("/anon_hugepage (deleted)")) {
                ctx.refuse(where, "hugetlb mapping " + m.pathWithoutDeleted(), "mappings of hugetlbfs files are not"
                        + " supported yet (MAP_HUGETLB anonymous memory and hugetlb memfds are)");
                return Optional.empty();
            }
            return Optional.of(v.setKind(m.shared() ? VmaKind.ANON_SHARED : VmaKind.ANON_PRIVATE)
                    .setHugePageSize(hugePageSize(smaps)));
        }
        if (path.startsWith("[")) {
            ctx.refuse(where, "special mapping " + path, "not supported");
            return Optional.empty();
        }
        if (path.startsWith("socket:[")) {
            // Only an AF_PACKET socket can be mapped (packet_mmap): its ring's frames, shared
            // with the kernel, whose owner bits say which frames the program still has to read.
            ctx.refuse(where, "packet ring mapping of " + path, "not supported yet (unmap the ring, or"
                    + " checkpoint the capture before it maps one)");
            return Optional.empty();
        }
        if (!path.startsWith("/")) {   // anon_inode:[...]: memory of a kernel object, no file
            ctx.refuse(where, "mapping of " + path, "memory of that kernel object, which is no file to map again:"
                    + " not supported yet");
            return Optional.empty();
        }
        Path mapped = Path.of(String.format("/proc/%d/map_files/%x-%x", ctx.pid(), m.start(), m.end()));
        if (m.deleted()) {
            return MappedFileContents.deleted(ctx, m, mapped, v, where);
        }
        String device = deviceMapping(mapped, path);
        if (device != null) {
            ctx.refuse(where, "mapping of " + device, device.startsWith("block")
                    ? "mappings of block devices are not supported yet" : "device memory cannot be saved: not supported");
            return Optional.empty();
        }
        Path file = Path.of(path);
        FileIdentity id = identity(file).orElse(null);
        if (id == null || id.getInode() != m.inode()) {
            ctx.refuse(where, "mapping of " + path, "the file at that path is not the mapped one (renamed or replaced)");
            return Optional.empty();
        }
        v.setKind(m.shared() ? VmaKind.FILE_SHARED : VmaKind.FILE_PRIVATE).setFileIdentity(id);
        if (m.shared() && MappedFileContents.mayVanish(path, id)) {
            v.setContents(MappedFileContents.read(mapped, id.getSize()));
        }
        return Optional.of(v);
    }

    /**
     * "character device PATH (M:m)" or "block device PATH (M:m)" when a mapping is of a device node other
     * than /dev/zero, else null. A private mapping of /dev/zero is anonymous memory whose vma
     * keeps the file (mmap_zero); every other device maps its own memory (frame buffers, /dev/mem,
     * a driver's buffers), which neither a read of the pages nor a new mmap gives back.
     */
    private static String deviceMapping(Path mapped, String path) {
        try {
            Map<String, Object> a = Files.readAttributes(mapped, "unix:mode,rdev");
            int type = (Integer) a.get("mode") & 0170000;
            long rdev = (Long) a.get("rdev");
            long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL), minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
            boolean zero = major == 1 && minor == 5;
            if (type == 0020000 && !zero || type == 0060000) {
                return (type == 0020000 ? "character" : "block") + " device " + path + " (" + major + ":" + minor + ")";
            }
        } catch (IOException | UnsupportedOperationException e) {
            // Not readable: the checks below name the file.
        }
        return null;
    }

    /** The huge page size in bytes of a hugetlb mapping (smaps KernelPageSize), 0 for ordinary pages. */
    static long hugePageSize(SmapsEntry smaps) {
        if (smaps == null || !smaps.vmFlags().contains("ht")) {
            return 0;
        }
        return smaps.fields().getOrDefault("KernelPageSize", 0L) * 1024;
    }

    /** Size, mtime, inode and device of a file, or empty if it cannot be read. */
    static Optional<FileIdentity> identity(Path file) {
        try {
            Map<String, Object> a = Files.readAttributes(file, "unix:size,lastModifiedTime,ino,dev");
            FileTime mtime = (FileTime) a.get("lastModifiedTime");
            return Optional.of(FileIdentity.newBuilder()
                    .setSize((Long) a.get("size"))
                    .setMtimeNanos(mtime.to(java.util.concurrent.TimeUnit.NANOSECONDS))
                    .setInode((Long) a.get("ino"))
                    .setDev((Long) a.get("dev"))
                    .build());
        } catch (IOException | UnsupportedOperationException e) {
            return Optional.empty();
        }
    }

    static List<String> describe(FileIdentity id) {
        return List.of("size " + id.getSize(), "inode " + id.getInode());
    }
}
