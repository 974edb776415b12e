package dev.amber.kind.unix;

import dev.amber.image.proto.UnixAccepted;
import dev.amber.image.proto.UnixListener;
import dev.amber.image.proto.UnixQueuedClient;
import dev.amber.image.proto.UnixSocket;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.Pidfd;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Makes unix sockets inside the puppet being restored (so that names are bound in its
 * namespaces) and moves each into Amber under its saved inode ({@link Made}), from where every
 * puppet that has an end takes its copy: a socketpair, a socket bound to its name, a listener
 * with the connections it had accepted and those still queued, a connection to an external peer.
 */
final class UnixMaker {
    private static final int AF_UNIX = 1, SOCK_CLOEXEC = 02000000, SOCK_NONBLOCK = 04000, EADDRINUSE = 98,
            EACCES = 13, EPERM = 1, SCRATCH_PAIR = 3072, ADDR_AT = 2048;

    /** The sockets made so far, by saved inode (Amber's copies), and what waits for a pair's second end. */
    static final class Made {
        final Map<Long, Integer> amber = new HashMap<>();
        final Set<Long> restored = new HashSet<>();
        final Map<Long, Integer> pendingShutdown = new HashMap<>();
        final Map<Long, Integer> deadPartner = new HashMap<>();
    }

    private final RestoreContext ctx;
    private final Made made;
    private final String what;

    UnixMaker(RestoreContext ctx, Made made, String what) {
        this.ctx = ctx;
        this.made = made;
        this.what = what;
    }

    private Injector inj() {
        return ctx.injector();
    }

    /** A call injected into the puppet; its kernel result. */
    interface Call {
        long run() throws IOException;
    }

    /**
     * Runs {@code call} with the puppet's effective uid and gid (and supplementary groups) set
     * to the saved process's, root again after: the kernel records the caller's credentials
     * in the socket at socketpair, listen and connect, and the peer reads them with
     * SO_PEERCRED / SO_PEERGROUPS (a server outside the tree decides by them what a
     * reconnected client may do). The puppet is root until the credentials kind runs, and
     * leaving uid 0 drops the effective capabilities only until it comes back. A call that the
     * process's own ids are not allowed (EACCES, EPERM: it made the socket before it dropped
     * them) is made again as root.
     */
    long asOwner(Call call) throws IOException {
        dev.amber.image.proto.Credentials c = ctx.process().getCredentials();
        int euid = c.getUidsCount() > 1 ? c.getUids(1) : 0, egid = c.getGidsCount() > 1 ? c.getGids(1) : 0;
        if ((euid == 0 && egid == 0) || inj().call(Arch.SYS_GETUID) != 0) {
            return call.run();
        }
        long groups = inj().put(SCRATCH_PAIR, groupBytes(c.getGroupsList()));
        inj().check("setgroups " + what, Arch.SYS_SETGROUPS, c.getGroupsCount(), groups);
        inj().check("setresgid(-1, " + egid + ", -1) " + what, Arch.SYS_SETRESGID, -1, egid, -1);
        inj().check("setresuid(-1, " + euid + ", -1) " + what, Arch.SYS_SETRESUID, -1, euid, -1);
        long r;
        try {
            r = call.run();
        } finally {
            inj().check("setresuid(-1, 0, -1) " + what, Arch.SYS_SETRESUID, -1, 0, -1);
            inj().check("setresgid(-1, 0, -1) " + what, Arch.SYS_SETRESGID, -1, 0, -1);
            inj().check("setgroups(0) " + what, Arch.SYS_SETGROUPS, 0, 0);
        }
        return r == -EACCES || r == -EPERM ? call.run() : r;
    }

    /** connect(2) to {@code to} with the process's ids, where its name resolves. */
    private void connectAsOwner(long fd, UnixPlaces.Name to, String via) throws IOException {
        long[] r = new long[1];
        places().at(inj(), to, via, () -> r[0] = asOwner(() -> UnixRestore.connectHere(inj(), fd, to.name())));
        UnixRestore.connected(r[0], to.name(), via);
    }

    private UnixPlaces places() throws IOException {
        return UnixPlaces.of(ctx.tree());
    }

    /** Moves the puppet's {@code fd} into Amber under {@code inode}. */
    private void keep(long inode, long fd) throws IOException {
        int copy = Pidfd.grab(ctx.pid(), (int) fd);
        made.amber.put(inode, ctx.tree().keep(copy));
        inj().call(Arch.SYS_CLOSE, fd);
    }

    private long socket(int type) throws IOException {
        return inj().check("socket(AF_UNIX, " + UnixSocketKind.typeName(type) + ") " + what, Arch.SYS_SOCKET, AF_UNIX,
                type | SOCK_CLOEXEC, 0);
    }

    void pair(int type, long inode, long peer, boolean dead) throws IOException {
        if (made.amber.containsKey(inode)) {
            return;
        }
        long scratch = inj().scratch() + SCRATCH_PAIR;
        ErrnoException.check(asOwner(() -> inj().call(Arch.SYS_SOCKETPAIR, AF_UNIX, type | SOCK_CLOEXEC, 0, scratch)),
                "socketpair(AF_UNIX, " + UnixSocketKind.typeName(type) + ") " + what, "in pid " + ctx.pid());
        ByteBuffer b = ByteBuffer.wrap(inj().get(SCRATCH_PAIR, 8)).order(ByteOrder.LITTLE_ENDIAN);
        int a = b.getInt(0), z = b.getInt(4);
        keep(inode, a);
        if (dead) {
            made.deadPartner.put(inode, Pidfd.grab(ctx.pid(), z));   // closed once the queue is back
            inj().call(Arch.SYS_CLOSE, z);
        } else {
            keep(peer, z);
        }
    }

    /** A socket bound to {@code name} (none: unbound), unless made already. */
    void named(int type, UnixPlaces.Name name) throws IOException {
        if (made.amber.containsKey(name.inode())) {
            return;
        }
        long fd = socket(type);
        bind(fd, type, name);
        keep(name.inode(), fd);
    }

    /** The listener and every client queued on it, connected in queue order. */
    void group(int type, UnixListener l) throws IOException {
        if (made.amber.containsKey(l.getInode())) {
            return;
        }
        long fd = socket(type);
        UnixPlaces.Name listener = UnixPlaces.Name.of(l);
        bind(fd, type, listener);
        ErrnoException.check(asOwner(() -> inj().call(Arch.SYS_LISTEN, fd, l.getBacklog())),
                "listen(" + l.getBacklog() + ") " + what, "in pid " + ctx.pid());
        for (UnixAccepted a : l.getAcceptedList()) {
            if (made.amber.containsKey(a.getInode()) || made.amber.containsKey(a.getPeerInode())) {
                continue;   // one end came back already (as a socketpair): so did the other
            }
            String via = what + " (accepted connection socket:[" + a.getInode() + "])";
            long cfd = inj().check("socket(AF_UNIX) " + via, Arch.SYS_SOCKET, AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            bind(cfd, type, UnixPlaces.Name.peerOf(a));
            connectAsOwner(cfd, listener, via);
            long sfd = inj().check("accept4 " + via, Arch.SYS_ACCEPT4, fd, 0, 0, SOCK_CLOEXEC);
            keep(a.getPeerInode(), cfd);
            keep(a.getInode(), sfd);
        }
        keep(l.getInode(), fd);
        for (UnixQueuedClient c : l.getClientsList()) {
            long cfd = inj().check("socket(AF_UNIX) " + what, Arch.SYS_SOCKET, AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            bind(cfd, type, UnixPlaces.Name.of(c));
            String queued = what + " (queued connection socket:[" + c.getInode() + "])";
            connectAsOwner(cfd, listener, queued);
            keep(c.getInode(), cfd);
        }
    }

    void external(long inode, UnixSocket s) throws IOException {
        long fd = inj().check("socket(AF_UNIX) " + what, Arch.SYS_SOCKET, AF_UNIX, s.getType() | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        bind(fd, s.getType(), UnixPlaces.Name.of(s));
        String external = what + " (external peer)";
        connectAsOwner(fd, new UnixPlaces.Name(s.getPeerInode(), s.getPeerName().toByteArray(), s.getPeerNameDir(),
                false), external);
        keep(inode, fd);
    }

    /**
     * bind(2) to the saved name, where it resolves ({@link UnixPlaces}). A filesystem name whose
     * file is still there (the checkpointed process was killed, its socket file stays) is
     * unlinked first, but only if it is a socket file and no socket of this host is bound to
     * that path.
     */
    void bind(long fd, int type, UnixPlaces.Name n) throws IOException {
        byte[] name = n.name();
        if (name.length == 0) {
            return;
        }
        long[] r = new long[1];
        places().at(inj(), n, what, () -> r[0] = bindOnce(fd, name, n.detached() ? null : n.dir()));
        ErrnoException.check(r[0], "bind(" + UnixName.display(name) + ") " + what, "in pid " + ctx.pid());
        places().bound(n);
    }

    /** One bind; {@code dir}: where a stale socket file would be (null: a private place, none). */
    private long bindOnce(long fd, byte[] name, String dir) throws IOException {
        byte[] sa = UnixName.sockaddr(name);
        long r = inj().call(Arch.SYS_BIND, fd, inj().put(ADDR_AT, sa), sa.length);
        if (r == -EADDRINUSE && UnixName.path(name) && dir != null) {
            Path file = UnixRestore.fileOf(ctx.pid(), name, dir);
            String path = UnixName.pathString(name);
            if (!isSocketFile(file)) {
                throw new IOException(what + ": bind: " + path + " exists and is not a socket: move it away, then"
                        + " restart again");
            }
            if (boundOnHost(file)) {
                throw new IOException(what + ": bind: " + path + " is in use by another socket on this host"
                        + " (ss -xlp | grep " + path + "): stop what holds it, then restart again");
            }
            inj().check("unlink stale socket file " + path + " " + what, Arch.SYS_UNLINK, inj().putString(ADDR_AT, path));
            r = inj().call(Arch.SYS_BIND, fd, inj().put(ADDR_AT, sa), sa.length);
        } else if (r == -EADDRINUSE) {
            throw new IOException(what + ": bind: abstract name " + UnixName.display(name) + " is in use on this"
                    + " host (ss -xlp | grep '" + UnixName.display(name) + "'): stop what holds it, then restart again");
        }
        return r;
    }

    private static byte[] groupBytes(List<Integer> groups) {
        ByteBuffer b = ByteBuffer.allocate(Math.max(4, 4 * groups.size())).order(ByteOrder.LITTLE_ENDIAN);
        groups.forEach(b::putInt);
        return b.array();
    }

    private static boolean isSocketFile(Path p) {
        try {
            return ((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000) == 0140000;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Whether a live socket is bound to the file {@code file}: sock_diag (of the puppet's network
     * namespace) lists one whose socket file has its inode and device. The path alone says
     * nothing: sockets whose files were unlinked keep the name (as this restart's detached ones do).
     */
    private boolean boundOnHost(Path file) throws IOException {
        long ino, dev;
        try {
            ino = ((Number) Files.getAttribute(file, "unix:ino", LinkOption.NOFOLLOW_LINKS)).longValue();
            dev = ((Number) Files.getAttribute(file, "unix:dev", LinkOption.NOFOLLOW_LINKS)).longValue();
        } catch (IOException | RuntimeException e) {
            return false;
        }
        for (UnixDiag.Entry e : UnixDiag.read(ctx.pid()).entries().values()) {
            if (e.fileInode() == ino && UnixSocketKind.statDev(e.fileDev()) == dev) {
                return true;
            }
        }
        return false;
    }
}
