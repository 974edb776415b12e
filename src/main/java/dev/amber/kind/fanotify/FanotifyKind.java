package dev.amber.kind.fanotify;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Fanotify;
import dev.amber.image.proto.FanotifyMark;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.file.FileHandles;
import dev.amber.proc.FdInfo;
import dev.amber.proc.MountInfo;
import dev.amber.proc.MountInfoEntry;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.sys.Pidfd;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/**
 * fanotify_init(2): the group's flags and every mark, from fdinfo ({@link FanotifyMarkLine}). An
 * inode mark's path comes from its file handle (open_by_handle_at in Amber, then the descriptor's
 * link, checked against the inode); a mount mark's from the process's mountinfo by mount id; a file
 * system mark's from any mount of its device. A restart makes the group with the same flags and
 * adds each mark's mask and ignore mask with its flags. Queued events cannot be saved (reading
 * them takes them from the process): they are dropped with a warning, as inotify's are.
 */
public final class FanotifyKind implements FdKind {
    private static final int SYS_FANOTIFY_INIT = 300, SYS_FANOTIFY_MARK = 301, AT_FDCWD = -100, FIONREAD = 0x541b;
    private static final int FAN_CLOEXEC = 1, FAN_NONBLOCK = 2, O_NONBLOCK = 04000, O_PATH = 010000000;
    private static final int FAN_MARK_ADD = 0x1, FAN_MARK_DONT_FOLLOW = 0x4, FAN_MARK_MOUNT = 0x10,
            FAN_MARK_IGNORED_MASK = 0x20, FAN_MARK_IGNORED_SURV_MODIFY = 0x40, FAN_MARK_FILESYSTEM = 0x100,
            FAN_MARK_EVICTABLE = 0x200, FAN_MARK_IGNORE = 0x400;

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.FANOTIFY;
    }

    @Override
    public boolean handles(String target) {
        return target.equals("anon_inode:[fanotify]");
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        Fanotify.Builder f = Fanotify.newBuilder().setFlags(info.flags());
        try {
            for (String value : info.values("fanotify")) {
                FanotifyMarkLine line = FanotifyMarkLine.parse(value);
                if (line.group()) {
                    f.setInitFlags((int) line.hex("flags")).setEventFlags((int) line.hex("event-flags"));
                    continue;
                }
                FanotifyMark.Builder m = FanotifyMark.newBuilder().setMflags((int) line.hex("mflags"))
                        .setMask(line.hex("mask")).setIgnoredMask(line.hex("ignored_mask"));
                String refusal = line.inode() ? inode(line, m) : line.mount() ? mount(ctx.pid(), line, m)
                        : filesystem(ctx.pid(), line, m);
                if (refusal != null) {
                    ctx.refuse("fd " + fd, "fanotify mark", refusal);
                    continue;
                }
                f.addMarks(m);
            }
        } catch (IllegalArgumentException e) {
            throw new IOException("pid " + ctx.pid() + " fd " + fd + ": " + e.getMessage());
        }
        Injector inj = ctx.injector();
        inj.check("ioctl(FIONREAD) fd " + fd, Arch.SYS_IOCTL, fd, FIONREAD, inj.scratch());
        int queued = (int) inj.getLong(0);
        if (queued > 0) {
            f.setDroppedEventBytes(queued);
            ctx.tree().warn("pid " + ctx.pid() + " fd " + fd + ": fanotify: " + queued
                    + " bytes of queued events are not saved; the restarted process will not see them");
        }
        d.setFanotify(f);
    }

    /** Fills an inode mark's path from its handle; returns a refusal, or null. */
    private static String inode(FanotifyMarkLine line, FanotifyMark.Builder m) throws IOException {
        long ino = line.hex("ino");
        int fd;
        try {
            fd = FileHandles.open(line.major(), line.minor(), new FileHandles.Handle((int) line.hex("fhandle-type"),
                    line.handle()), O_PATH, "marked inode " + ino);
        } catch (IOException e) {
            return e.getMessage() + ": a marked inode that cannot be opened again is not supported";
        }
        try {
            String path = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            if (!path.startsWith("/") || path.endsWith(" (deleted)")) {
                return "the marked inode " + ino + " has no path (" + path + "): not supported";
            }
            if ((Long) Files.getAttribute(Path.of(path), "unix:ino", LinkOption.NOFOLLOW_LINKS) != ino) {
                return "the marked inode " + ino + " resolves to " + path + ", another inode: the path is not reachable";
            }
            m.setKind(FanotifyMark.Kind.INODE).setPath(path).setInode(ino);
            return null;
        } finally {
            Pidfd.close(fd);
        }
    }

    private static String mount(int pid, FanotifyMarkLine line, FanotifyMark.Builder m) throws IOException {
        long id = line.hex("mnt_id");
        for (MountInfoEntry e : MountInfo.read(pid)) {
            if (e.mountId() == id) {
                m.setKind(FanotifyMark.Kind.MOUNT).setPath(e.mountPoint());
                return null;
            }
        }
        return "the marked mount " + id + " is not in the process's mount table: not supported";
    }

    private static String filesystem(int pid, FanotifyMarkLine line, FanotifyMark.Builder m) throws IOException {
        List<MountInfoEntry> on = MountInfo.read(pid).stream()
                .filter(e -> e.major() == line.major() && e.minor() == line.minor()).toList();
        if (on.isEmpty()) {
            return "the marked file system " + line.major() + ":" + line.minor() + " is not mounted where the process"
                    + " can see it: not supported";
        }
        m.setKind(FanotifyMark.Kind.FILESYSTEM).setPath(on.getFirst().mountPoint());
        return null;
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        Fanotify f = d.getFanotify();
        String what = "pid " + ctx.pid() + " fd " + d.getFd() + " fanotify";
        int flags = f.getInitFlags() & ~(FAN_CLOEXEC | FAN_NONBLOCK) | ((f.getFlags() & O_NONBLOCK) != 0 ? FAN_NONBLOCK : 0);
        long fd = inj.check("fanotify_init(0x" + Integer.toHexString(flags) + ") fd " + d.getFd(), SYS_FANOTIFY_INIT,
                flags, f.getEventFlags());
        for (FanotifyMark m : f.getMarksList().reversed()) {   // fdinfo lists the newest first: the same order again
            int type = switch (m.getKind()) {
                case MOUNT -> FAN_MARK_MOUNT;
                case FILESYSTEM -> FAN_MARK_FILESYSTEM;
                default -> FAN_MARK_DONT_FOLLOW;
            };
            int keep = m.getMflags() & FAN_MARK_EVICTABLE;
            if (m.getMask() != 0) {
                mark(inj, fd, FAN_MARK_ADD | type | keep, m.getMask(), m, what);
            }
            if (m.getIgnoredMask() != 0) {
                int ignore = (m.getMflags() & FAN_MARK_IGNORE) != 0 ? FAN_MARK_IGNORE : FAN_MARK_IGNORED_MASK;
                mark(inj, fd, FAN_MARK_ADD | type | keep | ignore | (m.getMflags() & FAN_MARK_IGNORED_SURV_MODIFY),
                        m.getIgnoredMask(), m, what);
            }
        }
        return fd;
    }

    private static void mark(Injector inj, long fd, int flags, long mask, FanotifyMark m, String what) throws IOException {
        long r = inj.call(SYS_FANOTIFY_MARK, fd, flags, mask, AT_FDCWD, inj.putString(0, m.getPath()));
        if (r == -Errno.ENOENT || r == -Errno.ENOTDIR) {
            throw new IOException(what + ": marked path " + m.getPath() + " no longer exists: recreate it"
                    + " (or restart where it exists)");
        }
        if (r < 0) {
            throw new IOException(what + ": fanotify_mark(" + m.getPath() + ", flags 0x" + Integer.toHexString(flags)
                    + ", mask 0x" + Long.toHexString(mask) + "): " + Errno.describe((int) -r));
        }
    }
}
