package dev.amber.kind.file;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.FdOwner;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.FdKinds;
import dev.amber.kind.FdRef;
import dev.amber.kind.TreeRestore;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.lock.FileLocks;
import dev.amber.proc.FdInfo;
import dev.amber.proc.Fds;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The descriptor table. Each descriptor is saved by the {@link FdKind} that recognises its
 * {@code /proc/PID/fd} link; one that shares its open file description with a lower descriptor
 * (dup'ed, inherited) is saved as a reference to it and restored with dup3, so that the two
 * share one offset and one set of status flags again. fdinfo's {@code flags} shows O_CLOEXEC when
 * the descriptor has FD_CLOEXEC. Signal-driven I/O (owner, signal, O_ASYNC) belongs to the open
 * file description whatever its kind, so the table saves and restores it too. A pipe or socket
 * declared external ({@code --external-fd}) is saved by name and given back by the restart
 * ({@link ExternalFiles}).
 */
public final class FileKind implements ProcessKind {
    private static final int O_CLOEXEC = 02000000, F_SETFD = 2, FD_CLOEXEC = 1, KCMP_FILE = 0;
    private static final int O_ASYNC = 020000, O_PATH = 010000000, F_GETFL = 3, F_SETFL = 4, F_SETSIG = 10,
            F_GETSIG = 11, F_SETOWN_EX = 15, F_GETOWN_EX = 16;

    @Override
    public String name() {
        return "file";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        int pid = ctx.pid();
        for (int fd : Fds.list(pid)) {
            String target = Fds.readLink(pid, fd);
            FdInfo info = FdInfo.read(pid, fd);
            boolean cloexec = (info.flags() & O_CLOEXEC) != 0;
            long inode = inode(pid, fd);
            FdRef shared = ctx.tree().sharedDescription(pid, fd, inode);
            if (shared != null && shared.pid() == pid) {
                ctx.process().addDescriptors(Descriptor.newBuilder().setFd(fd).setShares(true)
                        .setSameAs(shared.fd()).setCloexec(cloexec));
                continue;
            }
            if (shared != null) {
                ctx.process().addDescriptors(Descriptor.newBuilder().setFd(fd).setFromPid(shared.pid())
                        .setFromFd(shared.fd()).setCloexec(cloexec));
                continue;
            }
            save(ctx, fd, target, info, inode);
        }
    }

    /** A descriptor whose open file description nothing saved before shares: saved in full by its kind. */
    private static void save(DumpContext ctx, int fd, String target, FdInfo info, long inode) throws IOException {
        FdKind kind = FdKinds.forDescriptor(ctx.pid(), fd, target).orElse(null);
        boolean external = ExternalFiles.declared(ctx, target);
        if (kind == null && !external) {
            ctx.refuse("fd " + fd, FileClass.refusal(ctx.pid(), target), FileClass.reason(target));
            return;
        }
        Descriptor.Builder d = Descriptor.newBuilder().setFd(fd).setCloexec((info.flags() & O_CLOEXEC) != 0);
        int before = ctx.refusals().size();
        if (external) {
            d.setExternal(target);
        }
        if (!external || target.startsWith("pipe:")) {   // a pipe's record serves --external-closed
            kind.dump(ctx, fd, target, info, d);
        }
        FileLocks.dump(ctx, fd, target, info, d);
        if (ctx.refusals().size() != before) {
            return;
        }
        ctx.tree().addDescription(ctx.pid(), fd, inode);
        if (!external) {
            OutsideSharing.note(ctx, fd, target);
        }
        if ((info.flags() & O_PATH) == 0) {   // fcntl on O_PATH: only F_GETFL and the F_*FD commands
            FdOwner owner = owner(ctx.injector(), fd, info.flags());
            if (owner.getId() != 0 || owner.getSignal() != 0 || owner.getAsync()) {
                d.setOwner(owner);
            }
        }
        ctx.process().addDescriptors(d);
    }

    /**
     * F_GETOWN_EX fills {@code struct f_owner_ex {int type; pid_t pid;}}, ids as the process sees
     * them. O_ASYNC stays in the flags only of files with a fasync method (pipes, sockets, ttys,
     * /dev/random…): on 6.18 F_SETFL drops it on eventfd, timerfd, signalfd, epoll and regular files.
     */
    private static FdOwner owner(Injector inj, int fd, int flags) throws IOException {
        inj.check("fcntl(F_GETOWN_EX) fd " + fd, Arch.SYS_FCNTL, fd, F_GETOWN_EX, inj.scratch());
        ByteBuffer b = ByteBuffer.wrap(inj.get(0, 8)).order(ByteOrder.LITTLE_ENDIAN);
        int signal = (int) inj.check("fcntl(F_GETSIG) fd " + fd, Arch.SYS_FCNTL, fd, F_GETSIG);
        return FdOwner.newBuilder().setType(b.getInt(0)).setId(b.getInt(4)).setSignal(signal)
                .setAsync((flags & O_ASYNC) != 0).build();
    }

    /**
     * After the descriptor is in place. open(2) keeps O_ASYNC in the flags without calling the
     * file's fasync (no SIGIO would come), and F_SETFL only calls it when the bit changes: clear,
     * then set.
     */
    private static void restoreOwner(Injector inj, int fd, FdOwner o, boolean evenNone) throws IOException {
        String what = " fd " + fd;
        if (o.getSignal() != 0) {
            inj.check("fcntl(F_SETSIG, " + o.getSignal() + ")" + what, Arch.SYS_FCNTL, fd, F_SETSIG, o.getSignal());
        }
        if (o.getId() != 0 || evenNone) {
            byte[] owner = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(o.getType()).putInt(o.getId())
                    .array();
            inj.check("fcntl(F_SETOWN_EX, type " + o.getType() + ", id " + o.getId() + ")" + what, Arch.SYS_FCNTL, fd,
                    F_SETOWN_EX, inj.put(0, owner));
        }
        if (o.getAsync()) {
            long flags = inj.check("fcntl(F_GETFL)" + what, Arch.SYS_FCNTL, fd, F_GETFL);
            inj.check("fcntl(F_SETFL)" + what, Arch.SYS_FCNTL, fd, F_SETFL, flags & ~O_ASYNC);
            inj.check("fcntl(F_SETFL, O_ASYNC)" + what, Arch.SYS_FCNTL, fd, F_SETFL, flags | O_ASYNC);
        }
    }

    private static long inode(int pid, int fd) {
        try {
            return (Long) Files.getAttribute(Path.of("/proc/" + pid + "/fd/" + fd), "unix:ino");
        } catch (IOException e) {
            return -1;
        }
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        if (ctx.process().getFilesOf() != 0) {
            return;   // its parent's table (CLONE_FILES): restored by the parent, earlier in image order
        }
        Injector inj = ctx.injector();
        Map<Integer, Integer> passOf = new HashMap<>();
        for (Descriptor d : ctx.process().getDescriptorsList()) {
            passOf.put(d.getFd(), d.getShares() ? passOf.getOrDefault(d.getSameAs(), 0)
                    : d.getFromPid() != 0 || !d.getExternal().isEmpty() ? 0 : FdKinds.of(d).pass(d));
        }
        Integer pidfd = TreeRestore.amberPidfd(ctx.puppet().tid());
        // Duplicates last in each pass: dup3 needs no free number, while the others may need
        // temporaries, and with every number in use the last free ones are theirs. A duplicate
        // on the slot of Amber's pidfd (a table with no spare number) comes last of all.
        List<Descriptor> ordered = new ArrayList<>(ctx.process().getDescriptorsList());
        ordered.sort(Comparator.comparingInt((Descriptor d) -> pidfd != null && d.getFd() == pidfd ? 1 : 0)
                .thenComparingInt(d -> passOf.get(d.getFd())).thenComparing(Descriptor::getShares)
                .thenComparingInt(Descriptor::getFd));
        for (Descriptor d : ordered) {
            if (d.getShares()) {
                // dup3 over an open number closes what was there: Amber's pidfd, when it was on this slot.
                inj.check("dup3 fd " + d.getSameAs() + " to fd " + d.getFd(), Arch.SYS_DUP3, d.getSameAs(), d.getFd(),
                        d.getCloexec() ? O_CLOEXEC : 0);
                if (pidfd != null && d.getFd() == pidfd) {
                    TreeRestore.forgetAmberPidfd(ctx.puppet().tid());
                }
                continue;
            }
            if (d.getFromPid() != 0) {   // restored earlier in another process: a copy of that one
                long fd = TreeRestore.pull(inj, d.getFromPid(), d.getFromFd());
                if (fd == d.getFd()) {   // the copy has close-on-exec set: as saved
                    inj.check("fcntl(F_SETFD) fd " + fd, Arch.SYS_FCNTL, fd, F_SETFD, d.getCloexec() ? FD_CLOEXEC : 0);
                } else {
                    inj.check("dup3 fd " + fd + " to fd " + d.getFd(), Arch.SYS_DUP3, fd, d.getFd(),
                            d.getCloexec() ? O_CLOEXEC : 0);
                    inj.check("close fd " + fd, Arch.SYS_CLOSE, fd);
                }
                continue;
            }
            long fd = d.getExternal().isEmpty() ? FdKinds.of(d).restore(ctx, d) : ExternalFiles.restore(ctx, d);
            if (fd != d.getFd()) {
                inj.check("dup3 fd " + fd + " to fd " + d.getFd(), Arch.SYS_DUP3, fd, d.getFd(), 0);
                inj.check("close fd " + fd, Arch.SYS_CLOSE, fd);
            }
            if (d.getCloexec() || fd == d.getFd()) {   // a copy made with pidfd_getfd has it set: set it as saved
                inj.check("fcntl(F_SETFD) fd " + d.getFd(), Arch.SYS_FCNTL, d.getFd(), F_SETFD,
                        d.getCloexec() ? FD_CLOEXEC : 0);
            }
            if (d.hasOwner()) {
                restoreOwner(inj, d.getFd(), d.getOwner(), false);
            }
        }
        FileLocks.restore(ctx);   // after every descriptor: closing any of a file drops its POSIX locks
        for (Descriptor d : ctx.process().getDescriptorsList()) {
            if (FileLocks.leased(d)) {   // F_SETLEASE made the process the owner: the saved one again
                restoreOwner(inj, d.getFd(), d.hasOwner() ? d.getOwner() : FdOwner.newBuilder().setType(1).build(), true);
            }
        }
    }
}
