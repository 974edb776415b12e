package dev.amber.kind.inet;

import dev.amber.image.proto.TcpConnection;
import dev.amber.kind.DumpContext;
import dev.amber.kind.TreeDump;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.Pidfd;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The established TCP connections of one checkpoint: each is locked ({@link NetLock}) before it
 * is read, so that its queues hold still and no packet of it is answered while the tree is
 * frozen; read in repair mode ({@link TcpRepair}) through Amber's own copy of the socket; and
 * taken out of repair mode at once, the tree being frozen anyway. Amber keeps the copies until
 * the checkpoint ends: with --kill every socket is put back in repair mode just before the kill,
 * so that its last close sends neither FIN nor RST and the lock is kept for the restart;
 * otherwise the lock is removed and the connections carry on (packets dropped meanwhile are
 * sent again by their senders).
 */
final class TcpConnections implements TreeDump.Ending {
    private final TreeDump tree;
    private final List<Integer> copies = new ArrayList<>();
    private NetLock lock;

    private TcpConnections(TreeDump tree) {
        this.tree = tree;
    }

    /** The checkpoint's connections, registered to be put right when it ends. */
    static TcpConnections of(DumpContext ctx) {
        return ctx.tree().cached(TcpConnections.class, () -> {
            TcpConnections c = new TcpConnections(ctx.tree());
            ctx.tree().onEnd(c);
            return c;
        });
    }

    /** Locks and reads the connection of {@code fd} of the process, in state {@code state}. */
    TcpConnection dump(DumpContext ctx, int fd, int state, byte[] local, byte[] peer, String what)
            throws IOException {
        if (lock == null) {
            lock = NetLock.create(tree::warn);
        }
        lock.add(local, peer);
        int copy = Pidfd.grab(ctx.pid(), fd);
        copies.add(copy);
        String object = "pid " + ctx.pid() + " " + what;
        TcpRepair.repair(copy, TcpRepair.REPAIR_ON, object);
        try {
            return TcpRepair.read(copy, state, object).setLock(lock.id()).build();
        } finally {
            // No window probe: the peer learns of the window when the connection next moves.
            TcpRepair.repair(copy, TcpRepair.REPAIR_OFF_NO_WP, object);
        }
    }

    @Override
    public void killing() throws ErrnoException {
        for (int copy : copies) {
            TcpRepair.repair(copy, TcpRepair.REPAIR_ON, "socket (amber's copy fd " + copy + ")");
        }
    }

    @Override
    public void killed() throws IOException {
        closeCopies();
        if (lock != null) {
            lock.keep();
        }
    }

    /** Before the tree runs again: a failure may come after {@link #killing} put the sockets in repair mode. */
    @Override
    public void released() throws IOException {
        IOException first = null;
        for (int copy : copies) {
            try {
                TcpRepair.repair(copy, TcpRepair.REPAIR_OFF_NO_WP, "socket (amber's copy fd " + copy + ")");
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        closeCopies();
        if (lock != null) {
            lock.release();
        }
        if (first != null) {
            throw first;
        }
    }

    private void closeCopies() {
        copies.forEach(Pidfd::close);
        copies.clear();
    }
}
