package dev.amber.kind.unix;

import dev.amber.image.proto.UnixRole;
import dev.amber.image.proto.UnixSocket;
import dev.amber.kind.DumpContext;
import com.google.protobuf.ByteString;
import java.util.Set;

/**
 * Says how a unix socket is connected ({@link UnixRole}) from the sock_diag table and the
 * descriptors of the tree, and refuses the connections that a restart could not make again:
 * a peer held by a process outside the tree (unless declared with --external-unix), data a
 * client wrote into a connection its listener has not accepted yet (nothing holds that end, so
 * the data cannot be read in place).
 */
final class UnixPeers {
    private final DumpContext ctx;
    private final UnixDiag.Table table;
    private final String where, kind;

    UnixPeers(DumpContext ctx, UnixDiag.Table table, String where, String kind) {
        this.ctx = ctx;
        this.table = table;
        this.where = where;
        this.kind = kind;
    }

    private boolean inTree(long inode) {
        return !UnixSocketKind.holders(ctx, inode).isEmpty();
    }

    /** The names declared with {@code amber checkpoint --external-unix}. */
    private Set<String> external() {
        return ctx.tree().options().externalUnix();
    }

    /**
     * The --external-unix argument naming the socket {@code p}, or null: an abstract name by its
     * {@code @name}, a path by the file's inode (sock_diag's VFS), since the name the peer bound
     * may be relative to its own directory.
     */
    private String declared(UnixDiag.Entry p) {
        for (String x : external()) {
            if (UnixName.matches(x, p.name())) {
                return x;
            }
            if (!x.startsWith("@") && p.fileInode() != 0) {
                try {
                    Object ino = java.nio.file.Files.getAttribute(java.nio.file.Path.of(x), "unix:ino");
                    if (((Number) ino).longValue() == p.fileInode()) {
                        return x;
                    }
                } catch (java.io.IOException | RuntimeException e) {
                    // no such file here: not this one
                }
            }
        }
        return null;
    }

    /** Sets the role (and peer, listener) of {@code e} in {@code s}; false when refused. */
    boolean classify(UnixDiag.Entry e, UnixSocket.Builder s) {
        if (e.listening()) {
            for (long c : e.icons()) {
                if (!inTree(c)) {
                    SocketHolders.Holder holder = SocketHolders.outside(ctx.tree(), c);
                    ctx.refuse(where, kind, "a connection from " + (holder != null ? holder : "socket:[" + c + "]")
                            + ", outside the tree, waits to be accepted: let the program accept it first, or"
                            + " checkpoint a tree that holds the client too");
                    return false;
                }
            }
            s.setRole(UnixRole.UNIX_LISTENING).setListener(UnixSocketKind.listenerWithAccepted(ctx, e, table));
            return true;
        }
        Long listener = table.queuedOn().get(e.inode());
        if (listener != null) {
            return queued(e, table.get(listener), s);
        }
        if (e.peer() == null) {
            s.setRole(UnixRole.UNIX_UNCONNECTED);
            return true;
        }
        if (e.peer() == 0) {
            s.setRole(UnixRole.UNIX_DEAD_PEER);
            return true;
        }
        UnixDiag.Entry p = table.get(e.peer());
        if (inTree(e.peer()) && p != null) {
            boolean dgram = e.type() == UnixSocketKind.SOCK_DGRAM;
            if (p.peer() != null && p.peer() == e.inode() && !(dgram && e.name().length > 0 && p.name().length > 0)) {
                s.setRole(UnixRole.UNIX_PAIR).setPeerInode(p.inode());
                return true;
            }
            // Two named datagram sockets connected to each other come back as two DGRAM_TO, each
            // bound to its name and connected to the other's, rather than as an unnamed pair.
            if (dgram && p.name().length > 0) {
                String dir = UnixSocketKind.dirOf(ctx, p.inode(), p.name());
                s.setRole(UnixRole.UNIX_DGRAM_TO).setPeerInode(p.inode()).setPeerName(ByteString.copyFrom(p.name()))
                        .setPeerNameDir(dir).setPeerNameDetached(UnixSocketKind.detached(ctx, p, dir));
                return true;
            }
            ctx.refuse(where, kind, "connected to socket:[" + p.inode() + "], which is neither connected back nor"
                    + " named: not supported");
            return false;
        }
        return external(e, p, e.peer(), s);
    }

    private boolean queued(UnixDiag.Entry e, UnixDiag.Entry l, UnixSocket.Builder s) {
        if (e.wqueue() > 0) {
            ctx.refuse(where, kind, "wrote " + e.wqueue() + " byte(s) (kernel buffer size) into a connection to "
                    + UnixName.display(l.name()) + " that is not accepted yet: they cannot be read without accepting"
                    + " it; let the server accept it first");
            return false;
        }
        if (!inTree(l.inode())) {
            return external(e, l, l.inode(), s);
        }
        s.setRole(UnixRole.UNIX_QUEUED).setPeerInode(l.inode()).setListener(UnixSocketKind.listener(ctx, l, table));
        return true;
    }

    /** Connected to {@code peer}, held outside the tree: external if declared, else refused. */
    private boolean external(UnixDiag.Entry e, UnixDiag.Entry p, long peer, UnixSocket.Builder s) {
        byte[] name = p == null ? new byte[0] : p.name();
        String declared = p == null ? null : declared(p);
        if (declared != null) {
            s.setRole(UnixRole.UNIX_EXTERNAL).setPeerInode(peer).setPeerName(ByteString.copyFrom(UnixName.of(declared)));
            return true;
        }
        SocketHolders.Holder holder = SocketHolders.outside(ctx.tree(), peer);
        String peerName = "socket:[" + peer + "]" + (name.length > 0 ? " " + UnixName.display(name) : "");
        String suggest = UnixName.display(name);
        if (UnixName.path(name) && !suggest.startsWith("/") && holder != null && holder.cwd() != null) {
            suggest = holder.cwd() + "/" + suggest;   // bound relative to the peer's directory
        }
        String remedy = name.length > 0
                ? "checkpoint a tree that holds both ends, or declare the peer external with --external-unix "
                        + suggest + " (reconnected to that name at restart)"
                : "checkpoint a tree that holds both ends (their common parent)";
        ctx.refuse(where, kind, "its peer " + peerName + " is held by " + (holder != null ? holder : "no process found")
                + ", outside the tree: " + remedy);
        return false;
    }
}
