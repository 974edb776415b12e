package dev.amber.kind.pipe;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Pipe;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.FdRef;
import dev.amber.kind.Refusal;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TreeDump;
import dev.amber.kind.TreeRestore;
import dev.amber.kind.file.DeletedNodes;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.Pidfd;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pipes and FIFOs, wherever their ends are in the tree, with the data still buffered in them.
 *
 * <p>The data is read without taking it out of the pipe: a copy of the descriptor comes into
 * Amber (pidfd_getfd), a read end of the same pipe is opened through {@code /proc/self/fd} if the
 * copy is a write end, and tee(2) duplicates the buffered bytes into a pipe of Amber's own, from
 * which they are read. The process sees the same pipe, with the same bytes, afterwards.
 *
 * <p>At restart Amber makes each pipe once in its own process (pipe2, or opening the FIFO's path
 * read-write), puts the saved size and bytes back, and every puppet with an end takes a copy of it
 * (pidfd_getfd). Amber's own ends are closed when the restart ends, so an end that no process held
 * is closed again: a reader whose writers had all gone still sees end of file after the data.
 *
 * <p>An anonymous pipe whose other end is held by a process outside the tree is refused, naming
 * that process: the pipe could not be joined to it again, unless it is declared external
 * ({@code --external-fd}, kind.file.ExternalFiles). A FIFO is reopened by its path. A FIFO removed while open is made again for the restart and removed once more
 * ({@link DeletedNodes}), and, being no longer reachable by path, refused as an anonymous pipe is
 * when held outside.
 */
public final class PipeKind implements FdKind {
    private static final String DELETED = " (deleted)";
    private static final int O_ACCMODE = 3, O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_NONBLOCK = 04000,
            O_CLOEXEC = 02000000, O_PATH = 010000000, F_SETFL = 4, F_GETPIPE_SZ = 1032;
    /** Status flags F_SETFL can change on a pipe (O_ASYNC is the descriptor table's business). */
    private static final int SETTABLE = O_NONBLOCK | 02000 /* O_APPEND */ | 040000 /* O_DIRECT */ | 01000000 /* O_NOATIME */;

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.PIPE;
    }

    @Override
    public boolean handles(String target) {
        if (target.startsWith("pipe:[")) {
            return true;
        }
        if (!target.startsWith("/") || target.endsWith(" (deleted)")) {
            return false;
        }
        try {
            return "p".equals(type(Path.of(target)));
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** A FIFO removed while open: its link reads like a deleted file's, its open file is a FIFO. */
    @Override
    public boolean handles(int pid, int fd, String target) {
        if (target.startsWith("/") && pathOnly(pid, fd)) {
            return false;   // an O_PATH descriptor of a FIFO names it without opening it: kind.file's
        }
        if (handles(target)) {
            return true;
        }
        return target.startsWith("/") && target.endsWith(DELETED)
                && "p".equals(type(Path.of("/proc/" + pid + "/fd/" + fd)));
    }

    private static boolean pathOnly(int pid, int fd) {
        try {
            return (FdInfo.read(pid, fd).flags() & O_PATH) != 0;
        } catch (IOException e) {
            return false;
        }
    }

    private static String type(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", p.startsWith("/proc/") ? new LinkOption[0]
                    : new LinkOption[] {LinkOption.NOFOLLOW_LINKS});
            return (mode & 0170000) == 0010000 ? "p" : "";
        } catch (IOException | UnsupportedOperationException e) {
            return "";
        }
    }

    /** What the checkpoint found of each pipe, across the tree. */
    private static final class Seen {
        final Map<Long, boolean[]> ends = new HashMap<>();   // {read end seen, write end seen}
        final Map<Long, FdRef> where = new HashMap<>();      // the first descriptor, for refusals
        final Set<Long> fifos = new HashSet<>();
        final Set<Long> external = new HashSet<>();    // declared with --external-fd
        final Map<String, Long> links = new HashMap<>();    // deleted FIFOs: link text to id
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        boolean fifo = !target.startsWith("pipe:[");
        long id = info.ino();
        int access = info.flags() & O_ACCMODE;
        Pipe.Builder pipe = Pipe.newBuilder().setId(id).setWriteEnd(access == O_WRONLY).setReadWrite(access == O_RDWR)
                .setFlags(info.flags());
        boolean deleted = fifo && target.endsWith(DELETED);
        if (deleted) {   // made again for the restart, then removed
            String path = target.substring(0, target.length() - DELETED.length());
            pipe.setFifoPath(path).setFifoNode(DeletedNodes.of(Path.of("/proc/" + ctx.pid() + "/fd/" + fd), path));
        } else if (fifo) {
            pipe.setFifoPath(target);
        }
        Seen seen = ctx.tree().cached(Seen.class, () -> {
            Seen s = new Seen();
            ctx.tree().atEnd(() -> outsideEnds(ctx.tree(), s));
            return s;
        });
        boolean first = !seen.ends.containsKey(id);
        boolean[] ends = seen.ends.computeIfAbsent(id, k -> new boolean[2]);
        ends[0] |= access != O_WRONLY;
        ends[1] |= access != O_RDONLY;
        if (fifo && !deleted) {
            seen.fifos.add(id);   // reopened by path: whoever else holds it is joined again
        } else if (ctx.tree().options().externalFds().contains(target)) {
            seen.external.add(id);   // supplied at restart, or made with its other end closed
        } else if (deleted) {
            seen.links.put(target, id);   // held outside under this link: refused as an anonymous pipe is
        }
        seen.where.putIfAbsent(id, new FdRef(ctx.pid(), fd));
        int copy = Pidfd.grab(ctx.pid(), fd);
        try {
            pipe.setSize((int) ErrnoException.check(dev.amber.sys.Syscall.raw(Arch.SYS_FCNTL, copy, F_GETPIPE_SZ, 0),
                    "fcntl(F_GETPIPE_SZ)", "pid " + ctx.pid() + " fd " + fd));
            if (first) {
                pipe.setData(ByteString.copyFrom(PipeData.peek(copy, access == O_WRONLY)));
            }
        } finally {
            Pidfd.close(copy);
        }
        d.setPipe(pipe);
    }

    /**
     * Anonymous pipes that a process outside the tree holds too (either end): after a restart
     * the tree's pipe would be a new one, cut off from that process. Refused unless declared
     * external; one declared external that nothing outside holds is only worth a warning.
     */
    private static List<Refusal> outsideEnds(TreeDump tree, Seen seen) {
        List<Refusal> refusals = new ArrayList<>();
        Set<Long> anonymous = new HashSet<>(seen.ends.keySet());
        anonymous.removeAll(seen.fifos);
        if (anonymous.isEmpty()) {
            return refusals;
        }
        Map<Long, String> holders = OutsideHolders.find(tree, anonymous, seen.links);
        for (long id : anonymous) {
            String holder = holders.get(id);
            FdRef where = seen.where.get(id);
            String name = "pipe:[" + id + "]";
            if (seen.external.contains(id)) {
                if (holder == null) {
                    tree.warn(where + ": " + name + " was declared external but no process outside the tree holds it:"
                            + " a restart still needs --inherit-fd or --external-closed for it");
                }
            } else if (holder != null) {
                refusals.add(new Refusal(where.pid(), "fd " + where.fd(), name, "shared with " + holder
                        + " outside the tree: declare it with --external-fd '" + name + "' and supply it at restart"
                        + " with --inherit-fd 'fd[N]:" + name + "' (or let it come back closed with --external-closed)"));
            }
        }
        return refusals;
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Pipe p = d.getPipe();
        TreeRestore tree = ctx.tree();
        Injector inj = ctx.injector();
        int amberFd;
        int mode = p.getReadWrite() ? O_RDWR : p.getWriteEnd() ? O_WRONLY : O_RDONLY;
        if (p.getFifoPath().isEmpty()) {
            int[] ends = tree.hold(List.of("pipe", p.getId()), () -> PipeData.makePipe(tree, p));
            int end = p.getWriteEnd() ? 1 : 0;
            // Each record is an open file description of its own (shared ones are copies: kind.file).
            // The first of an end takes the one pipe2 made; another (the process had opened
            // /proc/PID/fd/N again) is opened anew on the same pipe, with status flags of its own.
            boolean[] taken = tree.hold(List.of("pipe ends taken", p.getId()), () -> new boolean[2]);
            if (!taken[end] && mode != O_RDWR) {
                taken[end] = true;
                amberFd = ends[end];
            } else {
                amberFd = tree.keep(PipeData.openPath("/proc/self/fd/" + ends[end], mode | O_NONBLOCK | O_CLOEXEC));
            }
        } else {
            String path = p.hasFifoNode() ? DeletedNodes.path(tree, p.getFifoNode()) : p.getFifoPath();
            tree.hold(List.of("fifo", p.getId()), () -> PipeData.openFifo(tree, p, path));
            amberFd = tree.keep(PipeData.openPath(path, mode | O_NONBLOCK | O_CLOEXEC));
        }
        long fd = TreeRestore.pullFromAmber(inj, amberFd);
        inj.check("fcntl(F_SETFL) pipe fd " + d.getFd(), Arch.SYS_FCNTL, fd, F_SETFL, p.getFlags() & SETTABLE);
        return fd;
    }
}
