package dev.amber.kind.unix;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.UnixSocket;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.FdKinds;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.FdInfo;
import dev.amber.proc.Fds;
import dev.amber.sys.Arch;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Descriptors in flight (SCM_RIGHTS) in a unix socket's receive queue. The kernel holds them as
 * files attached to the queued message; a peek (MSG_PEEK) gives the peeker its own descriptors of
 * the same open files without taking them off the queue ({@link UnixQueue}). Each is saved while
 * it is installed, by the kind of file it is, exactly as if the process held it, then closed; at
 * restart it is made again the same way, sent with its message (SCM_RIGHTS from the socket that
 * refills the queue), and closed, so that the process receives it when it reads the message.
 *
 * <p>The kinds are asked through the registry ({@link FdKinds}): anything a process can hold can
 * be in flight. Refused: a socket in flight (its connections would be made through it before it
 * is received), a file that refers to other descriptors of the process (epoll: they may not be
 * made yet when the queue is refilled), a memfd (made for the whole process from its descriptor
 * table, before the files), and more descriptors than one peek takes.
 */
final class UnixInFlight {
    private UnixInFlight() {}

    /** Saves the descriptors the peek installed into {@code s}; false when refused. Closes them. */
    static boolean save(DumpContext ctx, UnixQueue.Peeked q, UnixSocket.Builder s, String where, String kind)
            throws IOException {
        try {
            if (q.truncated()) {
                ctx.refuse(where, kind, "more descriptors in flight (SCM_RIGHTS) in one message than a peek takes: not"
                        + " supported (let the process read them first)");
                return false;
            }
            for (int m = 0; m < q.installed().size(); m++) {
                for (int fd : q.installed().get(m)) {
                    Descriptor.Builder d = saveOne(ctx, fd, where, kind);
                    if (d == null) {
                        return false;
                    }
                    s.addInFlight(dev.amber.image.proto.UnixInFlight.newBuilder().setMessage(m).setFile(d));
                }
            }
            return true;
        } finally {
            UnixQueue.close(ctx.injector(), q.installed(), List.of());
        }
    }

    private static Descriptor.Builder saveOne(DumpContext ctx, int fd, String where, String kind) throws IOException {
        String target = Fds.readLink(ctx.pid(), fd);
        FdKind k = FdKinds.forTarget(target).orElse(null);
        String inFlight = " in flight (SCM_RIGHTS) in its receive queue";
        if (target.startsWith("socket:[")) {
            ctx.refuse(where, kind, "a socket (" + target + ")" + inFlight + ": not supported yet (let the process"
                    + " read it first)");
            return null;
        }
        if (k == null || k.pass() != 0) {
            ctx.refuse(where, kind, target + inFlight + ": not supported yet" + (k != null ? ", as it refers to other"
                    + " descriptors" : "") + " (let the process read it first)");
            return null;
        }
        Descriptor.Builder d = Descriptor.newBuilder().setFd(fd);
        int before = ctx.refusals().size();
        k.dump(ctx, fd, target, FdInfo.read(ctx.pid(), fd), d);
        if (ctx.refusals().size() == before && d.getKindCase() == Descriptor.KindCase.MEMFD) {
            // memfds are made for the whole process from its descriptor table before the files
            ctx.refuse(where, kind, "a memfd (" + target + ")" + inFlight + ": not supported yet (let the process"
                    + " read it first)");
        }
        return ctx.refusals().size() == before ? d : null;
    }

    /**
     * Makes every descriptor in flight of {@code s} in the puppet; by message, the descriptors to
     * send with it (the caller closes them with {@link #close}).
     */
    static List<long[]> make(RestoreContext ctx, UnixSocket s) throws IOException {
        List<List<Long>> byMessage = new ArrayList<>();
        for (int i = 0; i < s.getQueueCount(); i++) {
            byMessage.add(new ArrayList<>());
        }
        List<long[]> out = new ArrayList<>();
        try {
            for (dev.amber.image.proto.UnixInFlight f : s.getInFlightList()) {
                byMessage.get(f.getMessage()).add(FdKinds.of(f.getFile()).restore(ctx, f.getFile()));
            }
        } catch (IOException | RuntimeException e) {
            byMessage.forEach(l -> out.add(l.stream().mapToLong(Long::longValue).toArray()));
            close(ctx, out);
            throw e;
        }
        byMessage.forEach(l -> out.add(l.stream().mapToLong(Long::longValue).toArray()));
        return out;
    }

    static void close(RestoreContext ctx, List<long[]> fds) throws IOException {
        for (long[] message : fds) {
            for (long f : message) {
                ctx.injector().call(Arch.SYS_CLOSE, f);
            }
        }
    }
}
