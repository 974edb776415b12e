package dev.amber.kind.inotify;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Inotify;
import dev.amber.image.proto.InotifyWatch;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.file.FileHandles;
import dev.amber.proc.FdInfo;
import dev.amber.proc.Fds;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * inotify_init1(2): the instance's status flags and every watch. fdinfo lists each watch by wd,
 * inode, device, mask and file handle ({@link InotifyMark}); the handle gives the watched inode's
 * path ({@link WatchPaths}). A restart creates the instance and adds the watches in ascending wd
 * order: a new instance hands out watch descriptors 1, 2, 3… (idr_alloc_cyclic), so a gap in
 * the saved wds is filled by a throwaway watch that is removed at once; its IN_IGNORED event is
 * read off again before the process runs.
 *
 * <p>Events already queued cannot be saved: reading them takes them from the process. They are
 * dropped and the checkpoint warns, with their size in bytes (FIONREAD).
 */
public final class InotifyKind implements FdKind {
    private static final int O_NONBLOCK = 04000, FIONREAD = 0x541b;
    private static final int IN_DELETE_SELF = 0x400, IN_DONT_FOLLOW = 0x02000000;
    private static final String DELETED = " (deleted)";
    /** Directories a throwaway watch may use: the first that no saved watch watches. */
    private static final List<String> FILLERS = List.of("/", "/proc", "/dev", "/sys", "/tmp");

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.INOTIFY;
    }

    @Override
    public boolean handles(String target) {
        return target.equals("anon_inode:inotify");
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        List<InotifyMark> marks = new ArrayList<>();
        for (String line : info.values("inotify")) {
            try {
                marks.add(InotifyMark.parse(line));
            } catch (IllegalArgumentException e) {
                throw new IOException("pid " + ctx.pid() + " fd " + fd + ": " + e.getMessage());
            }
        }
        marks.sort(Comparator.comparingInt(InotifyMark::wd));
        Inotify.Builder n = Inotify.newBuilder().setFlags(info.flags());
        for (InotifyMark m : marks) {
            String path;
            try {
                path = WatchPaths.resolve(m);
            } catch (IOException e) {
                ctx.refuse("fd " + fd, "inotify watch " + m.wd(), e.getMessage());
                continue;
            }
            InotifyWatch.Builder w = InotifyWatch.newBuilder().setWd(m.wd()).setPath(path).setMask(m.mask())
                    .setInode(m.ino()).setDevMajor(m.major()).setDevMinor(m.minor());
            if (path.endsWith(DELETED)) {
                int holder = holder(ctx.pid(), m);
                if (holder < 0) {
                    ctx.refuse("fd " + fd, "inotify watch " + m.wd(), "the watched file " + path + " is deleted,"
                            + " and no descriptor of the process holds it: not supported");
                    continue;
                }
                w.setPath(path.substring(0, path.length() - DELETED.length())).setHeld(true).setHeldByFd(holder);
            }
            n.addWatches(w);
        }
        Injector inj = ctx.injector();
        inj.check("ioctl(FIONREAD) fd " + fd, Arch.SYS_IOCTL, fd, FIONREAD, inj.scratch());
        int queued = (int) inj.getLong(0);
        if (queued > 0) {
            n.setDroppedEventBytes(queued);
            ctx.tree().warn("pid " + ctx.pid() + " fd " + fd + ": inotify: " + queued
                    + " bytes of queued events are not saved; the restarted process will not see them");
        }
        d.setInotify(n);
    }

    /**
     * A descriptor of process {@code pid} whose file is the watched inode (a deleted file or
     * directory the process holds, which a restart makes again), or -1.
     */
    private static int holder(int pid, InotifyMark m) throws IOException {
        for (int fd : Fds.list(pid)) {
            Path link = Path.of("/proc/" + pid + "/fd/" + fd);
            try {
                Map<String, Object> a = Files.readAttributes(link, "unix:ino,dev");
                int[] device = FileHandles.split((Long) a.get("dev"));
                if ((Long) a.get("ino") == m.ino() && device[0] == m.major() && device[1] == m.minor()
                        && Fds.readLink(pid, fd).endsWith(DELETED)) {
                    return fd;
                }
            } catch (IOException e) {
                // closed meanwhile, or not a file to stat: not the holder
            }
        }
        return -1;
    }

    /** After the other descriptors when a watch is added through one of them (it must exist by then). */
    @Override
    public int pass(Descriptor d) {
        return d.getInotify().getWatchesList().stream().anyMatch(InotifyWatch::getHeld) ? 1 : 0;
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        Inotify n = d.getInotify();
        String what = "pid " + ctx.pid() + " fd " + d.getFd() + " inotify";
        long fd = inj.check("inotify_init1 fd " + d.getFd(), Arch.SYS_INOTIFY_INIT1, n.getFlags() & O_NONBLOCK);
        String filler = FILLERS.stream()
                .filter(f -> n.getWatchesList().stream().noneMatch(w -> w.getPath().equals(f)))
                .findFirst().orElseThrow();
        int next = 1;
        boolean filled = false;
        for (InotifyWatch w : n.getWatchesList()) {
            while (next < w.getWd()) {
                long wd = inj.check("inotify_add_watch(" + filler + ") to fill wd " + next + " of " + what,
                        Arch.SYS_INOTIFY_ADD_WATCH, fd, inj.putString(0, filler), IN_DELETE_SELF);
                inj.check("inotify_rm_watch(" + wd + ") of " + what, Arch.SYS_INOTIFY_RM_WATCH, fd, wd);
                next = (int) wd + 1;
                filled = true;
            }
            // A deleted inode is reached through the descriptor that holds it: the magic link is followed.
            long wd = w.getHeld()
                    ? inj.call(Arch.SYS_INOTIFY_ADD_WATCH, fd, inj.putString(0, "/proc/self/fd/" + w.getHeldByFd()),
                            w.getMask())
                    : inj.call(Arch.SYS_INOTIFY_ADD_WATCH, fd, inj.putString(0, w.getPath()), w.getMask() | IN_DONT_FOLLOW);
            if (wd == -Errno.ENOENT || wd == -Errno.ENOTDIR) {
                throw new IOException(what + ": watched path " + w.getPath() + " no longer exists: recreate it"
                        + " (or restart where it exists)");
            }
            if (wd < 0) {
                throw new IOException(what + ": inotify_add_watch(" + w.getPath() + ", mask 0x"
                        + Integer.toHexString(w.getMask()) + "): " + Errno.describe((int) -wd));
            }
            if (wd != w.getWd()) {
                throw new IOException(what + ": the watch on " + w.getPath() + " got wd " + wd + ", expected "
                        + w.getWd() + " (two saved watches on one inode?)");
            }
            next = (int) wd + 1;
        }
        if (filled) {
            drainIgnored(inj, fd, what);
        }
        return fd;
    }

    /** Reads off the IN_IGNORED events that removing the throwaway watches queued. */
    private static void drainIgnored(Injector inj, long fd, String what) throws IOException {
        while (true) {
            inj.check("ioctl(FIONREAD) " + what, Arch.SYS_IOCTL, fd, FIONREAD, inj.scratch());
            int queued = (int) inj.getLong(0);
            if (queued <= 0) {
                return;
            }
            inj.check("read " + what, Arch.SYS_READ, fd, inj.scratch(), Math.min(queued, Injector.SCRATCH_SIZE));
        }
    }
}
