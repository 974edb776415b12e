package dev.amber.kind.inet;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.InetSocket;
import dev.amber.image.proto.SocketOption;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Syscall;
import dev.amber.trace.Injector;
import java.io.IOException;

/**
 * TCP listeners that shared a port through SO_REUSEPORT, one of which cleared the option since:
 * the kernel checks SO_REUSEPORT only at bind and listen, on both sockets, so the listeners
 * could not be bound again in any order with the saved values. A listener saved without it, on
 * the port of a listener of the tree saved with it, is
 * bound and listens with it set, and has it cleared once every process is restored (by Amber,
 * on its own copy of the socket: the puppet takes no more injected calls then).
 */
final class ListenerSharing {
    private static final int SOL_SOCKET = 1, SO_REUSEPORT = 15;

    private ListenerSharing() {}

    /** Sets SO_REUSEPORT on the fresh listener {@code fd} if it was saved clear; returns whether it did. */
    static boolean lend(RestoreContext ctx, long fd, int savedFd, InetSocket s, String what) throws IOException {
        boolean clear = s.getOptionsList().stream().anyMatch(o -> reusePort(o, 0));
        if (!clear || !sharedWithReusePort(ctx, s)) {
            return false;
        }
        Injector inj = ctx.injector();
        inj.check("setsockopt(SO_REUSEPORT, 1) " + what, Arch.SYS_SETSOCKOPT, fd, SOL_SOCKET, SO_REUSEPORT,
                inj.put(SocketOptions.VALUE_AT, new byte[] {1, 0, 0, 0}), 4);
        return true;
    }

    /** Clears SO_REUSEPORT of the puppet's {@code fd} again when the tree is restored. */
    static void giveBackAtEnd(RestoreContext ctx, int fd, String what) {
        int pid = ctx.pid();
        ctx.tree().atEnd(() -> {
            int copy = Pidfd.grab(pid, fd);
            try (LocalBuffer b = new LocalBuffer(8)) {
                b.putInt(0, 0);
                Syscall.check("setsockopt(SO_REUSEPORT, 0)", "pid " + pid + " " + what, Arch.SYS_SETSOCKOPT, copy,
                        SOL_SOCKET, SO_REUSEPORT, b.at(0), 4, 0);
            } finally {
                Pidfd.close(copy);
            }
        });
    }

    private static boolean reusePort(SocketOption o, int value) {
        return o.getLevel() == SOL_SOCKET && o.getName() == SO_REUSEPORT && o.getValue().byteAt(0) == value;
    }

    /** Whether another listener of the tree, on the same port, has SO_REUSEPORT set. */
    private static boolean sharedWithReusePort(RestoreContext ctx, InetSocket s) {
        int port = Sockaddr.port(s.getLocal().toByteArray());
        return ctx.tree().processes().stream().flatMap(p -> p.getDescriptorsList().stream())
                .filter(Descriptor::hasInet).map(Descriptor::getInet)
                .anyMatch(o -> o.getListening() && o != s && Sockaddr.port(o.getLocal().toByteArray()) == port
                        && o.getOptionsList().stream().anyMatch(x -> reusePort(x, 1)));
    }
}
