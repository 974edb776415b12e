package dev.amber.kind.memfd;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Memfd;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A descriptor of a memfd ({@code /memfd:NAME (deleted)}): its open flags and offset here, the
 * memfd itself (name, size, seals, contents) in the first record of its inode. At restart the
 * memfd already exists ({@link MemfdEarlyKind}); each descriptor reopens it through
 * {@code /proc/self/fd}, which gives a new open file description of the same memfd with the saved
 * access mode and status flags, as the process's own reopen through /proc would have.
 */
public final class MemfdKind implements FdKind {
    private static final long TMPFS_MAGIC = 0x01021994L, HUGETLBFS_MAGIC = 0x958458f6L;
    private static final int O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400, O_TRUNC = 01000,
            O_CLOEXEC = 02000000, O_PATH = 010000000;
    private static final int AT_FDCWD = -100, SEEK_SET = 0, O_ACCMODE = 3, O_RDWR = 2, F_DUPFD = 0, F_SETFL = 4;
    /** The status flags F_SETFL sets (O_APPEND, O_NONBLOCK, O_DIRECT, O_NOATIME, O_ASYNC). */
    private static final int SETFL_FLAGS = 02000 | 04000 | 040000 | 01000000 | 020000;

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.MEMFD;
    }

    @Override
    public boolean handles(String target) {
        return MemfdFile.isMemfd(target);
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        String name = MemfdFile.name(target);
        String kind = "memfd " + name;
        Injector inj = ctx.injector();
        inj.check("fstatfs fd " + fd, Arch.SYS_FSTATFS, fd, inj.scratch());
        long type = inj.getLong(0) & 0xffffffffL;
        // struct statfs: f_type, then f_bsize, which on hugetlbfs is the huge page size.
        long huge = type == HUGETLBFS_MAGIC ? inj.getLong(8) : 0;
        if (type != TMPFS_MAGIC && type != HUGETLBFS_MAGIC) {
            ctx.refuse("fd " + fd, kind, String.format("not supported (filesystem magic 0x%x, expected tmpfs 0x%x"
                    + " or hugetlbfs 0x%x)", type, TMPFS_MAGIC, HUGETLBFS_MAGIC));
            return;
        }
        Memfd earlier = MemfdEarlyKind.memfds(ctx.process()).stream()
                .filter(m -> m.getInode() == info.ino()).findFirst().orElse(null);
        Memfd.Builder m;
        if (earlier != null) {
            m = earlier.toBuilder().clearContents();   // reopened: the memfd is saved once
        } else {
            Path file = Path.of("/proc/" + ctx.pid() + "/fd/" + fd);
            long held = MemfdFile.held(MemfdEarlyKind.memfds(ctx.process()));
            long size = MemfdFile.size(file);
            if (held + size > MemfdFile.MAX_BYTES) {
                ctx.refuse("fd " + fd, kind, MemfdEarlyKind.tooLarge(size, held));
                return;
            }
            m = MemfdFile.read(file, name).setHugePageSize(huge);
        }
        d.setMemfd(m.setFlags(info.flags()).setPosition(info.pos()));
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        Memfd m = d.getMemfd();
        int temporary = MemfdEarlyKind.temporaryFd(ctx.process(), m.getInode());
        int flags = m.getFlags() & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC) | O_NOCTTY;
        String what = "fd " + d.getFd() + " memfd " + m.getName();
        long fd;
        if ((m.getFlags() & O_ACCMODE) == O_RDWR && claimOriginal(ctx, m.getInode())) {
            // memfd_create's own open file is no writer of the inode (it is not opened through a
            // path), so execveat of it works; a reopen O_RDWR is one, and exec fails with ETXTBSY.
            // The temporary is that open file: the first read-write descriptor of the tree gets it.
            fd = inj.check("dup " + what, Arch.SYS_FCNTL, temporary, F_DUPFD, 0);
            inj.check("fcntl(F_SETFL) " + what, Arch.SYS_FCNTL, fd, F_SETFL, m.getFlags() & SETFL_FLAGS);
        } else {
            fd = inj.check("open " + what, Arch.SYS_OPENAT, AT_FDCWD,
                    inj.putString(0, "/proc/self/fd/" + temporary), flags, 0);
        }
        if (m.getPosition() != 0 && (m.getFlags() & O_PATH) == 0) {
            inj.check("lseek " + what, Arch.SYS_LSEEK, fd, m.getPosition(), SEEK_SET);
        }
        return fd;
    }

    /** True the first time a descriptor of the memfd {@code inode} asks, in the whole tree. */
    private static boolean claimOriginal(RestoreContext ctx, long inode) throws IOException {
        boolean[] first = {false};
        ctx.tree().hold(java.util.List.of("memfd-original", inode), () -> {
            first[0] = true;
            return Boolean.TRUE;
        });
        return first[0];
    }
}
