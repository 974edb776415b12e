package dev.amber.kind.unix;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.UnixAccepted;
import dev.amber.image.proto.UnixListener;
import dev.amber.image.proto.UnixQueuedClient;
import dev.amber.image.proto.UnixRole;
import dev.amber.image.proto.UnixSocket;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TreeRestore;
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
 * Makes unix sockets again at restart. A socket is made once, inside the puppet restored first
 * that needs it (so that names are bound in the restored process's namespaces and relative to
 * its directory), and a copy is kept in Amber ({@link Made}) by its saved inode: the other end of
 * a pair, a listener and the clients queued on it, a datagram socket others are connected to.
 * Each puppet then takes its ends from Amber with pidfd_getfd.
 *
 * <p>Order for one socket: make (socketpair; socket, bind, listen, then the connections it had
 * accepted, connected and accepted again so that both ends have their names, then the queued
 * clients in queue order), put its receive queue back by sending from a socket that may send to it (its
 * pair's other end, or a fresh socket sending to its name), connect a datagram socket to its
 * peer (after the queue: a connected datagram socket takes data only from its peer), options,
 * O_NONBLOCK, and the shutdown halves last: for a pair, once both ends are restored, since a shut
 * down end could no longer send the other end's queue.
 */
final class UnixRestore {
    private static final int AF_UNIX = 1, SOCK_CLOEXEC = 02000000, SOCK_NONBLOCK = 04000, O_NONBLOCK = 04000,
            F_GETFL = 3, F_SETFL = 4, EADDRINUSE = 98, SCRATCH_PAIR = 3072, ADDR_AT = 2048, AT_FDCWD = -100,
            O_PATH = 010000000, O_DIRECTORY = 0200000, O_CLOEXEC = 02000000, EACCES = 13, EPERM = 1;

    /** The sockets made so far, by saved inode (Amber's copies), and what waits for a pair's second end. */
    private static final class Made {
        final Map<Long, Integer> amber = new HashMap<>();
        final Set<Long> restored = new HashSet<>();
        final Map<Long, Integer> pendingShutdown = new HashMap<>();
        final Map<Long, Integer> deadPartner = new HashMap<>();
    }

    private UnixRestore() {}

    static long restore(RestoreContext ctx, Descriptor d) throws IOException {
        UnixSocket s = d.getUnix();
        Injector inj = ctx.injector();
        TreeRestore tree = ctx.tree();
        Made made = tree.hold(Made.class, Made::new);
        long inode = s.getInode();
        String what = "pid " + ctx.pid() + " fd " + d.getFd() + " " + UnixSocketKind.describe(s.getType(),
                s.getName().toByteArray(), inode);
        if (!made.restored.add(inode)) {
            return TreeRestore.pullFromAmber(inj, made.amber.get(inode));   // another descriptor of the same socket
        }
        Maker maker = new Maker(ctx, made, what);
        switch (s.getRole()) {
            case UNIX_LISTENING, UNIX_QUEUED -> maker.group(s.getType(), s.getListener());
            case UNIX_PAIR -> maker.pair(s.getType(), inode, s.getPeerInode(), false);
            case UNIX_DEAD_PEER -> maker.pair(s.getType(), inode, 0, true);
            case UNIX_DGRAM_TO -> {
                maker.named(inode, s.getType(), s.getName().toByteArray(), s.getNameDir());
                maker.named(s.getPeerInode(), s.getType(), s.getPeerName().toByteArray(), s.getPeerNameDir());
            }
            case UNIX_EXTERNAL -> maker.external(inode, s);
            default -> maker.named(inode, s.getType(), s.getName().toByteArray(), s.getNameDir());
        }
        long fd = TreeRestore.pullFromAmber(inj, made.amber.get(inode));
        if (s.getQueueCount() > 0) {
            refill(ctx, made, s, fd, what);
        }
        Integer partner = made.deadPartner.remove(inode);
        if (partner != null) {
            Pidfd.close(partner);   // the peer goes: a stream end sees both halves shut, as it did
        }
        if (s.getRole() == UnixRole.UNIX_DGRAM_TO) {
            connect(inj, fd, s.getPeerName().toByteArray(), s.getPeerNameDir(), what);
        }
        if (s.getFileMode() != 0 && UnixName.path(s.getName().toByteArray())) {
            fileAttributes(ctx.pid(), s, what);
        }
        UnixOptions.write(inj, fd, s.getOptionsList(), what);
        long flags = inj.check("fcntl(F_GETFL) " + what, Arch.SYS_FCNTL, fd, F_GETFL);
        inj.check("fcntl(F_SETFL) " + what, Arch.SYS_FCNTL, fd, F_SETFL, (flags & ~O_NONBLOCK) | (s.getFlags() & O_NONBLOCK));
        shutdown(ctx, made, s, fd, what);
        return fd;
    }

    /** Sends the saved queue to {@code fd} from a socket allowed to send to it. */
    private static void refill(RestoreContext ctx, Made made, UnixSocket s, long fd, String what) throws IOException {
        Injector inj = ctx.injector();
        List<byte[]> messages = s.getQueueList().stream().map(b -> b.toByteArray()).toList();
        Integer from = switch (s.getRole()) {
            case UNIX_PAIR -> made.amber.get(s.getPeerInode());
            case UNIX_DEAD_PEER -> made.deadPartner.get(s.getInode());
            default -> null;
        };
        long sender;
        byte[] to = null;
        if (from != null) {
            sender = TreeRestore.pullFromAmber(inj, from);
        } else {
            sender = inj.check("socket(AF_UNIX) to refill " + what, Arch.SYS_SOCKET, AF_UNIX, s.getType() | SOCK_CLOEXEC, 0);
            to = s.getName().toByteArray();
        }
        String dir = from == null ? s.getNameDir() : "";
        try {
            List<UnixQueue.Credentials> creds = s.getCredentialsList().stream()
                    .map(c -> new UnixQueue.Credentials(c.getPid(), c.getUid(), c.getGid())).toList();
            long fillSender = sender;
            byte[] fillTo = to;
            inDir(inj, dir, what, () -> UnixQueue.fill(inj, fillSender, fillTo, messages, creds, s.getType(), what));
        } finally {
            inj.call(Arch.SYS_CLOSE, sender);
        }
    }

    /**
     * Shutdown halves. On a stream or seqpacket pair shutdown(2) also shuts the peer's opposite
     * half, so each end's own halves applied to both ends give back both ends' state.
     */
    private static void shutdown(RestoreContext ctx, Made made, UnixSocket s, long fd, String what) throws IOException {
        Injector inj = ctx.injector();
        if (s.getRole() == UnixRole.UNIX_PAIR) {
            if (!made.restored.contains(s.getPeerInode()) || made.pendingShutdown.get(s.getPeerInode()) == null) {
                made.pendingShutdown.put(s.getInode(), s.getShutdown());
                return;
            }
            int peerHalves = made.pendingShutdown.remove(s.getPeerInode());
            shut(inj, fd, s.getShutdown(), what);
            if (peerHalves != 0) {
                long peer = TreeRestore.pullFromAmber(inj, made.amber.get(s.getPeerInode()));
                try {
                    shut(inj, peer, peerHalves, what + " (its peer)");
                } finally {
                    inj.call(Arch.SYS_CLOSE, peer);
                }
            }
            return;
        }
        if (s.getRole() != UnixRole.UNIX_DEAD_PEER || s.getType() == UnixSocketKind.SOCK_DGRAM) {
            shut(inj, fd, s.getShutdown(), what);
        }
    }

    private static void shut(Injector inj, long fd, int halves, String what) throws IOException {
        if (halves == 0) {
            return;
        }
        int how = halves == 1 ? 0 : halves == 2 ? 1 : 2;   // RCV → SHUT_RD, SEND → SHUT_WR, both → SHUT_RDWR
        inj.check("shutdown(" + how + ") " + what, Arch.SYS_SHUTDOWN, fd, how);
    }

    /** Something done in the puppet that resolves a relative socket name. */
    interface InDir {
        void run() throws IOException;
    }

    /**
     * Runs {@code op} with the puppet's current directory set to {@code dir} (nothing to do when
     * empty), and puts the directory back after: the descriptors are restored before the
     * process's own cwd, and a relative name must resolve where it did at the checkpoint.
     */
    static void inDir(Injector inj, String dir, String what, InDir op) throws IOException {
        if (dir.isEmpty()) {
            op.run();
            return;
        }
        long here = inj.check("open(\".\") " + what, Arch.SYS_OPENAT, AT_FDCWD, inj.putString(ADDR_AT, "."),
                O_PATH | O_DIRECTORY | O_CLOEXEC);
        try {
            inj.check("chdir(" + dir + ") " + what, Arch.SYS_CHDIR, inj.putString(ADDR_AT, dir));
            try {
                op.run();
            } finally {
                inj.check("fchdir back " + what, Arch.SYS_FCHDIR, here);
            }
        } finally {
            inj.call(Arch.SYS_CLOSE, here);
        }
    }

    static void connect(Injector inj, long fd, byte[] name, String dir, String what) throws IOException {
        connected(connectRaw(inj, fd, name, dir, what), name, what);
    }

    /** connect(2) to {@code name}, relative ones in {@code dir}; the kernel's result. */
    static long connectRaw(Injector inj, long fd, byte[] name, String dir, String what) throws IOException {
        long[] result = new long[1];
        inDir(inj, dir, what, () -> {
            byte[] sa = UnixName.sockaddr(name);
            result[0] = inj.call(Arch.SYS_CONNECT, fd, inj.put(ADDR_AT, sa), sa.length);
        });
        return result[0];
    }

    /** Throws, with a remedy, when a connect to {@code name} failed. */
    static void connected(long r, byte[] name, String what) throws IOException {
        if (r < 0) {
            String err = dev.amber.sys.Errno.describe((int) -r);
            throw new IOException(what + ": connect to " + UnixName.display(name) + ": " + err
                    + (r == -111 || r == -2 ? " (nothing listens there): start the program that serves it, then"
                    + " restart again" : ""));
        }
    }

    /**
     * Where a bound name's file is, seen from Amber through the process's root: the path itself,
     * or a relative one in {@code dir} (when empty, in the process's current directory).
     */
    static Path fileOf(int pid, byte[] name, String dir) {
        String path = UnixName.pathString(name);
        if (path.startsWith("/")) {
            return Path.of("/proc/" + pid + "/root" + path);
        }
        return dir.isEmpty() ? Path.of("/proc/" + pid + "/cwd", path) : Path.of("/proc/" + pid + "/root" + dir, path);
    }

    private static void fileAttributes(int pid, UnixSocket s, String what) throws IOException {
        Path p = fileOf(pid, s.getName().toByteArray(), s.getNameDir());
        try {
            // Following links: with NOFOLLOW_LINKS the JDK opens the file to fchmod it, and a socket
            // file cannot be opened (ENXIO). The kernel just made it: it is not a link.
            Files.setAttribute(p, "unix:mode", s.getFileMode());
            Files.setAttribute(p, "unix:uid", s.getFileUid());
            Files.setAttribute(p, "unix:gid", s.getFileGid());
        } catch (IOException e) {
            throw new IOException(what + ": setting the socket file's mode and owner: " + e.getMessage(), e);
        }
    }

    /** Makes sockets inside the puppet and moves them to Amber. */
    private record Maker(RestoreContext ctx, Made made, String what) {
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
        void named(long inode, int type, byte[] name, String dir) throws IOException {
            if (made.amber.containsKey(inode)) {
                return;
            }
            long fd = socket(type);
            bind(fd, type, name, dir);
            keep(inode, fd);
        }

        /** The listener and every client queued on it, connected in queue order. */
        void group(int type, UnixListener l) throws IOException {
            if (made.amber.containsKey(l.getInode())) {
                return;
            }
            long fd = socket(type);
            bind(fd, type, l.getName().toByteArray(), l.getNameDir());
            ErrnoException.check(asOwner(() -> inj().call(Arch.SYS_LISTEN, fd, l.getBacklog())),
                    "listen(" + l.getBacklog() + ") " + what, "in pid " + ctx.pid());
            for (UnixAccepted a : l.getAcceptedList()) {
                if (made.amber.containsKey(a.getInode()) || made.amber.containsKey(a.getPeerInode())) {
                    continue;   // one end came back already (as a socketpair): so did the other
                }
                String via = what + " (accepted connection socket:[" + a.getInode() + "])";
                long cfd = inj().check("socket(AF_UNIX) " + via, Arch.SYS_SOCKET, AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                bind(cfd, type, a.getPeerName().toByteArray(), a.getPeerNameDir());
                connected(asOwner(() -> connectRaw(inj(), cfd, l.getName().toByteArray(), l.getNameDir(), via)),
                        l.getName().toByteArray(), via);
                long sfd = inj().check("accept4 " + via, Arch.SYS_ACCEPT4, fd, 0, 0, SOCK_CLOEXEC);
                keep(a.getPeerInode(), cfd);
                keep(a.getInode(), sfd);
            }
            keep(l.getInode(), fd);
            for (UnixQueuedClient c : l.getClientsList()) {
                long cfd = inj().check("socket(AF_UNIX) " + what, Arch.SYS_SOCKET, AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                bind(cfd, type, c.getName().toByteArray(), c.getNameDir());
                String queued = what + " (queued connection socket:[" + c.getInode() + "])";
                connected(asOwner(() -> connectRaw(inj(), cfd, l.getName().toByteArray(), l.getNameDir(), queued)),
                        l.getName().toByteArray(), queued);
                keep(c.getInode(), cfd);
            }
        }

        void external(long inode, UnixSocket s) throws IOException {
            long fd = inj().check("socket(AF_UNIX) " + what, Arch.SYS_SOCKET, AF_UNIX, s.getType() | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            bind(fd, s.getType(), s.getName().toByteArray(), s.getNameDir());
            String external = what + " (external peer)";
            connected(asOwner(() -> connectRaw(inj(), fd, s.getPeerName().toByteArray(), s.getPeerNameDir(), external)),
                    s.getPeerName().toByteArray(), external);
            keep(inode, fd);
        }

        /**
         * bind(2) to the saved name. A filesystem name whose file is still there (the checkpointed
         * process was killed, its socket file stays) is unlinked first, but only if it is a socket
         * file and no socket of this host is bound to that path.
         */
        void bind(long fd, int type, byte[] name, String dir) throws IOException {
            if (name.length == 0) {
                return;
            }
            long[] r = new long[1];
            inDir(inj(), dir, what, () -> r[0] = bindOnce(fd, type, name, dir));
            ErrnoException.check(r[0], "bind(" + UnixName.display(name) + ") " + what, "in pid " + ctx.pid());
        }

        private long bindOnce(long fd, int type, byte[] name, String dir) throws IOException {
            byte[] sa = UnixName.sockaddr(name);
            long r = inj().call(Arch.SYS_BIND, fd, inj().put(ADDR_AT, sa), sa.length);
            if (r == -EADDRINUSE && UnixName.path(name)) {
                Path file = fileOf(ctx.pid(), name, dir);
                String path = UnixName.pathString(name);
                if (!isSocketFile(file)) {
                    throw new IOException(what + ": bind: " + path + " exists and is not a socket: move it away, then"
                            + " restart again");
                }
                if (boundOnHost(ctx.pid(), path)) {
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

    /** Whether /proc/net/unix (of the process's network namespace) lists a socket bound to {@code path}. */
    private static boolean boundOnHost(int pid, String path) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/net/unix"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 8 && f[7].equals(path)) {
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }
}
