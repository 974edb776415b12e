package dev.amber.kind.unix;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.UnixAccepted;
import dev.amber.image.proto.UnixCredentials;
import dev.amber.image.proto.UnixListener;
import dev.amber.image.proto.UnixQueuedClient;
import dev.amber.image.proto.UnixRole;
import dev.amber.image.proto.UnixSocket;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.FdRef;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.inet.InetSocketKind;
import dev.amber.kind.netlink.NetlinkSocketKind;
import dev.amber.kind.packet.PacketSocketKind;
import dev.amber.proc.FdInfo;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Unix sockets (AF_UNIX) of every type, wherever their ends are in the tree: socketpairs,
 * accepted and connecting ends, listeners with the connections still waiting in their accept
 * queue, datagram sockets bound to a name or connected to one, with the data queued for each to
 * read (message boundaries kept), shutdown halves, options and O_NONBLOCK.
 *
 * <p>Checkpoint: sock_diag ({@link UnixDiag}) gives every socket's peer, name, accept queue and
 * shutdown state, read once per checkpoint; the socket's own queue is peeked in place
 * ({@link UnixQueue}). A socket whose peer is held outside the tree is refused, naming that
 * process, unless its name was declared with {@code --external-unix} (then it is connected to
 * that name again at restart). Sockets of other families are passed to {@link NetlinkSocketKind}
 * (AF_NETLINK), {@link PacketSocketKind} (AF_PACKET) or {@link InetSocketKind} (the rest).
 *
 * <p>Restart: each socket is made once ({@link UnixRestore}), inside the first puppet that
 * needs it, and then kept by Amber so that every puppet with an end takes its copy.
 */
public final class UnixSocketKind implements FdKind {
    private static final int SO_DOMAIN = 39, AF_UNIX = 1, AF_NETLINK = 16, AF_PACKET = 17;
    static final int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5;
    private static final FdKind INET = new InetSocketKind(), NETLINK = new NetlinkSocketKind(),
            PACKET = new PacketSocketKind();

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.UNIX;
    }

    /** Any socket: its family can only be asked of the process; others go to the inet kind. */
    @Override
    public boolean handles(String target) {
        return target.startsWith("socket:[");
    }

    static String typeName(int type) {
        return switch (type) {
            case SOCK_STREAM -> "stream";
            case SOCK_DGRAM -> "datagram";
            case SOCK_SEQPACKET -> "seqpacket";
            default -> "type " + type;
        };
    }

    /** {@code socket (unix stream /run/app.sock)}, the words of the descriptor table's refusals. */
    static String describe(int type, byte[] name, long inode) {
        return "socket (unix " + typeName(type) + " " + (name.length > 0 ? UnixName.display(name) : "socket:[" + inode + "]")
                + ")";
    }

    /** The diag table of the process's network namespace, read once per checkpoint. */
    private static UnixDiag.Table table(DumpContext ctx) throws IOException {
        String netns;
        try {
            netns = Files.readSymbolicLink(Path.of("/proc/" + ctx.pid() + "/ns/net")).toString();
        } catch (IOException e) {
            netns = "pid " + ctx.pid();
        }
        try {
            return ctx.tree().cached("unix sock_diag " + netns, () -> {
                try {
                    return UnixDiag.read(ctx.pid());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        Injector inj = ctx.injector();
        int family = UnixQueue.getInt(inj, fd, SO_DOMAIN, "getsockopt(SO_DOMAIN) fd " + fd + " " + target);
        if (family != AF_UNIX) {
            (family == AF_NETLINK ? NETLINK : family == AF_PACKET ? PACKET : INET).dump(ctx, fd, target, info, d);
            return;
        }
        long inode = SocketHolders.socketInode(target);
        UnixDiag.Table table = table(ctx);
        UnixDiag.Entry e = table.get(inode);
        String where = "fd " + fd;
        if (e == null) {
            ctx.refuse(where, "socket (unix " + target + ")", "sock_diag does not list it (is the process in"
                    + " another network namespace than the rest of the tree?)");
            return;
        }
        String kind = describe(e.type(), e.name(), inode);
        UnixSocket.Builder s = UnixSocket.newBuilder().setInode(inode).setType(e.type()).setFlags(info.flags())
                .setName(ByteString.copyFrom(e.name())).setShutdown(e.shutdown());
        if (!new UnixPeers(ctx, table, where, kind).classify(e, s)) {
            return;
        }
        if (hasQueue(e) && !queue(ctx, fd, e, s, where, kind)) {
            return;
        }
        s.addAllOptions(UnixOptions.read(inj, fd, e.type(), "fd " + fd + " " + kind));
        s.setNameDir(dirOf(ctx, inode, e.name())).setNameDetached(detached(ctx, e, s.getNameDir()));
        if (UnixName.path(e.name()) && !s.getNameDetached()) {
            fileAttributes(ctx.pid(), e.name(), s.getNameDir(), s);
        }
        d.setUnix(s);
    }

    /**
     * Whether the socket can have data to read. A stream or seqpacket socket has a receive queue
     * only once connected (sk_state TCP_ESTABLISHED, which it keeps after its peer closed): before
     * that, or listening, recvmsg fails (EINVAL for stream, ENOTCONN for seqpacket) and there is
     * nothing to save. A datagram socket always has one.
     */
    private static boolean hasQueue(UnixDiag.Entry e) {
        return e.type() == SOCK_DGRAM || e.state() == UnixDiag.TCP_ESTABLISHED;
    }

    /** Peeks the receive queue into {@code s}; false when the socket was refused. */
    private static boolean queue(DumpContext ctx, int fd, UnixDiag.Entry e, UnixSocket.Builder s, String where,
            String kind) throws IOException {
        if (e.type() == SOCK_STREAM && UnixQueue.outOfBand(ctx.injector(), fd)) {
            ctx.refuse(where, kind, "an out-of-band byte (MSG_OOB) is waiting: not supported (let the process read it"
                    + " first)");
            return false;
        }
        UnixQueue.Peeked q = UnixQueue.peek(ctx.injector(), fd, e.type(), e.shutdown(), where + " " + kind);
        if (!refillable(ctx, e, s, q, where, kind)) {
            UnixQueue.close(ctx.injector(), q.installed(), List.of());
            return false;
        }
        if (q.descriptors() > 0 && !UnixInFlight.save(ctx, q, s, where, kind)) {
            return false;
        }
        q.messages().forEach(m -> s.addQueue(ByteString.copyFrom(m)));
        if (q.credentials().stream().anyMatch(java.util.Objects::nonNull)) {
            for (UnixQueue.Credentials c : q.credentials()) {
                UnixQueue.Credentials k = c != null ? c : new UnixQueue.Credentials(0, -1, -1);
                s.addCredentials(UnixCredentials.newBuilder().setPid(k.pid()).setUid(k.uid()).setGid(k.gid()));
            }
        }
        return true;
    }

    /** Whether a queue found by a peek can be put back at restart; refuses it when not. */
    private static boolean refillable(DumpContext ctx, UnixDiag.Entry e, UnixSocket.Builder s, UnixQueue.Peeked q,
            String where, String kind) {
        if (q.messages().isEmpty()) {
            return true;
        }
        UnixRole role = s.getRole();
        if (role == UnixRole.UNIX_EXTERNAL) {
            ctx.refuse(where, kind, q.bytes() + " byte(s) sent by the external peer are still queued: they could not be"
                    + " put back after a restart (let the process read them first)");
            return false;
        }
        if ((role == UnixRole.UNIX_UNCONNECTED || role == UnixRole.UNIX_DGRAM_TO) && e.name().length == 0) {
            ctx.refuse(where, kind, q.bytes() + " byte(s) queued for an unnamed, unconnected socket: not supported");
            return false;
        }
        return true;
    }

    /** The socket file's permissions and owner, seen through the process's root or cwd. */
    private static void fileAttributes(int pid, byte[] name, String dir, UnixSocket.Builder s) {
        try {
            Path p = UnixRestore.fileOf(pid, name, dir);
            s.setFileMode((Integer) Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS) & 07777)
                    .setFileUid((Integer) Files.getAttribute(p, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS))
                    .setFileGid((Integer) Files.getAttribute(p, "unix:gid", java.nio.file.LinkOption.NOFOLLOW_LINKS));
        } catch (IOException | RuntimeException e) {
            // the file was removed: the socket keeps its name, the restart makes the file anew
        }
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        return UnixRestore.restore(ctx, d);
    }

    /** Every descriptor of the tree on socket {@code inode}. */
    static List<FdRef> holders(DumpContext ctx, long inode) {
        return SocketHolders.inTree(ctx.tree()).getOrDefault(inode, List.of());
    }

    /**
     * The listener's own record also lists the connections it accepted whose ends are both in
     * the tree (an accepted socket carries its listener's name), so that a restart can make them
     * through it again; a queued client's copy does not (it is only needed to make the listener).
     */
    static UnixListener.Builder listenerWithAccepted(DumpContext ctx, UnixDiag.Entry l, UnixDiag.Table table) {
        UnixListener.Builder b = listener(ctx, l, table);
        if (l.name().length == 0) {
            return b;
        }
        for (UnixDiag.Entry a : table.entries().values()) {
            if (a.listening() || a.type() != l.type() || !java.util.Arrays.equals(a.name(), l.name()) || a.peer() == null
                    || a.peer() == 0) {
                continue;
            }
            UnixDiag.Entry c = table.get(a.peer());
            if (c != null && c.peer() != null && c.peer() == a.inode() && !holders(ctx, a.inode()).isEmpty()
                    && !holders(ctx, c.inode()).isEmpty()) {
                String dir = dirOf(ctx, c.inode(), c.name());
                b.addAccepted(UnixAccepted.newBuilder().setInode(a.inode()).setPeerInode(c.inode())
                        .setPeerName(ByteString.copyFrom(c.name())).setPeerNameDir(dir)
                        .setPeerNameDetached(detached(ctx, c, dir)));
            }
        }
        return b;
    }

    static UnixListener.Builder listener(DumpContext ctx, UnixDiag.Entry l, UnixDiag.Table table) {
        String dir = dirOf(ctx, l.inode(), l.name());
        UnixListener.Builder b = UnixListener.newBuilder().setInode(l.inode()).setName(ByteString.copyFrom(l.name()))
                .setBacklog((int) l.wqueue()).setNameDir(dir).setNameDetached(detached(ctx, l, dir));
        for (long c : l.icons()) {
            UnixDiag.Entry ce = table.get(c);
            byte[] name = ce == null ? new byte[0] : ce.name();
            String cdir = dirOf(ctx, c, name);
            b.addClients(UnixQueuedClient.newBuilder().setInode(c).setName(ByteString.copyFrom(name))
                    .setNameDir(cdir).setNameDetached(ce != null && detached(ctx, ce, cdir)));
        }
        return b;
    }

    /**
     * Whether socket {@code e} has a path name whose file is not the socket's own any more:
     * unlinked (maybe with its directory), renamed away, or replaced by another file or socket.
     * sock_diag gives the inode and device of the file the socket was bound to (the kernel keeps
     * it while the socket lives, linked or not); the path is looked at through the process's
     * root, or {@code dir} for a relative name.
     */
    static boolean detached(DumpContext ctx, UnixDiag.Entry e, String dir) {
        if (!UnixName.path(e.name()) || e.fileInode() == 0) {
            return false;
        }
        Path p = UnixRestore.fileOf(ctx.pid(), e.name(), dir);
        try {
            long ino = ((Number) Files.getAttribute(p, "unix:ino", java.nio.file.LinkOption.NOFOLLOW_LINKS)).longValue();
            long dev = ((Number) Files.getAttribute(p, "unix:dev", java.nio.file.LinkOption.NOFOLLOW_LINKS)).longValue();
            return ino != e.fileInode() || dev != statDev(e.fileDev());
        } catch (IOException | RuntimeException x) {
            return true;   // nothing at the path any more
        }
    }

    /** The kernel's dev_t (major:12 minor:20) as stat(2) encodes it (new_encode_dev). */
    static long statDev(long kdev) {
        long major = kdev >>> 20, minor = kdev & 0xfffff;
        return (minor & 0xff) | (major << 8) | ((minor & ~0xffL) << 12);
    }

    /**
     * For a relative path name, the directory it is resolved in: the current directory of a
     * process of the tree holding the socket (the one being dumped when none does). The kernel
     * keeps the name as bound, relative to where the binder was then; its cwd now is the best
     * guess there is. Empty for other names.
     */
    static String dirOf(DumpContext ctx, long inode, byte[] name) {
        if (!UnixName.relative(name)) {
            return "";
        }
        List<FdRef> holders = holders(ctx, inode);
        int pid = holders.isEmpty() ? ctx.pid() : holders.getFirst().pid();
        try {
            return Files.readSymbolicLink(Path.of("/proc/" + pid + "/cwd")).toString();
        } catch (IOException e) {
            return "";
        }
    }
}
