package dev.amber.kind.unix;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.UnixRole;
import dev.amber.image.proto.UnixSocket;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TreeRestore;
import dev.amber.sys.Arch;
import dev.amber.sys.Pidfd;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Makes unix sockets again at restart. A socket is made once, inside the puppet restored first
 * that needs it (so that names are bound in the restored process's namespaces and relative to
 * its directory), and a copy is kept in Amber ({@link UnixMaker}) by its saved inode: the other end of
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
    private static final int AF_UNIX = 1, SOCK_CLOEXEC = 02000000, O_NONBLOCK = 04000, F_GETFL = 3, F_SETFL = 4,
            ADDR_AT = 2048, AT_FDCWD = -100, O_PATH = 010000000, O_DIRECTORY = 0200000, O_CLOEXEC = 02000000;

    private UnixRestore() {}

    static long restore(RestoreContext ctx, Descriptor d) throws IOException {
        UnixSocket s = d.getUnix();
        Injector inj = ctx.injector();
        TreeRestore tree = ctx.tree();
        UnixMaker.Made made = tree.hold(UnixMaker.Made.class, UnixMaker.Made::new);
        long inode = s.getInode();
        String what = "pid " + ctx.pid() + " fd " + d.getFd() + " " + UnixSocketKind.describe(s.getType(),
                s.getName().toByteArray(), inode);
        if (!made.restored.add(inode)) {
            return TreeRestore.pullFromAmber(inj, made.amber.get(inode));   // another descriptor of the same socket
        }
        UnixMaker maker = new UnixMaker(ctx, made, what);
        switch (s.getRole()) {
            case UNIX_LISTENING, UNIX_QUEUED -> maker.group(s.getType(), s.getListener());
            case UNIX_PAIR -> maker.pair(s.getType(), inode, s.getPeerInode(), false);
            case UNIX_DEAD_PEER -> maker.pair(s.getType(), inode, 0, true);
            case UNIX_DGRAM_TO -> {
                maker.named(s.getType(), UnixPlaces.Name.of(s));
                maker.named(s.getType(), UnixPlaces.Name.peerOf(s));
            }
            case UNIX_EXTERNAL -> maker.external(inode, s);
            default -> maker.named(s.getType(), UnixPlaces.Name.of(s));
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
            connect(ctx, fd, UnixPlaces.Name.peerOf(s), what);
        }
        if (s.getFileMode() != 0 && UnixName.path(s.getName().toByteArray()) && !s.getNameDetached()) {
            fileAttributes(ctx.pid(), s, what);
        }
        UnixOptions.write(inj, fd, s.getOptionsList(), what);
        long flags = inj.check("fcntl(F_GETFL) " + what, Arch.SYS_FCNTL, fd, F_GETFL);
        inj.check("fcntl(F_SETFL) " + what, Arch.SYS_FCNTL, fd, F_SETFL, (flags & ~O_NONBLOCK) | (s.getFlags() & O_NONBLOCK));
        shutdown(ctx, made, s, fd, what);
        return fd;
    }

    /** Sends the saved queue to {@code fd} from a socket allowed to send to it. */
    private static void refill(RestoreContext ctx, UnixMaker.Made made, UnixSocket s, long fd, String what) throws IOException {
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
        // Sent to its name: where the name resolves (a pair's end sends to its peer, no name)
        UnixPlaces.Name where = from == null ? UnixPlaces.Name.of(s) : new UnixPlaces.Name(s.getInode(), new byte[0], "", false);
        try {
            List<UnixQueue.Credentials> creds = s.getCredentialsList().stream()
                    .map(c -> new UnixQueue.Credentials(c.getPid(), c.getUid(), c.getGid())).toList();
            long fillSender = sender;
            byte[] fillTo = to;
            List<long[]> rights = UnixInFlight.make(ctx, s);
            try {
                UnixPlaces.of(ctx.tree()).at(inj, where, what,
                        () -> UnixQueue.fill(inj, fillSender, fillTo, messages, creds, rights, s.getType(), what));
            } finally {
                UnixInFlight.close(ctx, rights);
            }
        } finally {
            inj.call(Arch.SYS_CLOSE, sender);
        }
    }

    /**
     * Shutdown halves. On a stream or seqpacket pair shutdown(2) also shuts the peer's opposite
     * half, so each end's own halves applied to both ends give back both ends' state.
     */
    private static void shutdown(RestoreContext ctx, UnixMaker.Made made, UnixSocket s, long fd, String what) throws IOException {
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

    /** connect(2) to {@code to}, where its name resolves. */
    static void connect(RestoreContext ctx, long fd, UnixPlaces.Name to, String what) throws IOException {
        long[] r = new long[1];
        UnixPlaces.of(ctx.tree()).at(ctx.injector(), to, what, () -> r[0] = connectHere(ctx.injector(), fd, to.name()));
        connected(r[0], to.name(), what);
    }

    /** connect(2) to {@code name} from the puppet's current root and directory; the kernel's result. */
    static long connectHere(Injector inj, long fd, byte[] name) throws IOException {
        byte[] sa = UnixName.sockaddr(name);
        return inj.call(Arch.SYS_CONNECT, fd, inj.put(ADDR_AT, sa), sa.length);
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
}
