package dev.amber.kind.inet;

import dev.amber.sys.Arch;
import static dev.amber.kind.inet.SocketOptions.AF_INET;
import static dev.amber.kind.inet.SocketOptions.AF_INET6;
import static dev.amber.kind.inet.SocketOptions.IPPROTO_TCP;
import static dev.amber.kind.inet.SocketOptions.SOL_SOCKET;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.InetSocket;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.FdInfo;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * Inet sockets: TCP listeners, TCP sockets never connected (maybe bound), TCP connections
 * established or half closed ({@link TcpConnections}, {@link TcpRestore}), UDP and UDP-Lite sockets
 * (bound, connected, or neither; shut down or not), ping sockets (SOCK_DGRAM with ICMP or ICMPv6,
 * bound to their echo id) and raw IP sockets of any protocol, IPv4 and IPv6. Every other socket
 * (netlink, packet…, unless a kind of its own takes it) is refused in the words the descriptor
 * table used before this kind existed. A raw socket's receive queue holds copies of
 * packets the host also delivered where they were going; it is not saved, as a raw socket
 * that falls behind loses packets too.
 *
 * <p>Everything is asked of the stopped process itself with injected calls: SO_DOMAIN, SO_TYPE
 * and SO_PROTOCOL say what the socket is; TCP_INFO gives a TCP socket's state, and for a
 * listener its backlog ({@code tcpi_sacked} = sk_max_ack_backlog, which /proc/net/tcp does not
 * show) and the connections waiting in its accept queue ({@code tcpi_unacked} = sk_ack_backlog);
 * getsockname and getpeername the addresses; {@link SocketOptions} the options; sock_diag
 * ({@link InetDiag}) a datagram socket's shutdown state.
 *
 * <p>Restored with socket, the options (SO_REUSEADDR and IPV6_V6ONLY must precede bind), bind
 * to the saved address and port, then listen or connect. What cannot come back is refused at
 * checkpoint: connections a listener has not accepted yet, a connect in progress (SYN_SENT),
 * datagrams queued in a UDP socket.
 */
public final class InetSocketKind implements FdKind {
    // x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
    
    private static final int SO_TYPE = 3, SO_PROTOCOL = 38, SO_DOMAIN = 39, TCP_INFO = 11;
    private static final int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, IPPROTO_UDP = 17, IPPROTO_UDPLITE = 136,
            IPPROTO_ICMP = 1, IPPROTO_ICMPV6 = 58;
    private static final int IP_FREEBIND = 15, IPV6_FREEBIND = 78, IPPROTO_IP = 0, IPPROTO_IPV6 = 41,
            EADDRNOTAVAIL = 99;
    private static final int TCP_CLOSE = 7, TCP_LISTEN = 10;
    private static final int O_NONBLOCK = 04000, ENOTCONN = 107, EADDRINUSE = 98;
    /** Big enough for a sockaddr_in6 (28 bytes). */
    private static final int SOCKADDR_SIZE = 128;

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.INET;
    }

    /** Any socket: what it is can only be asked of the process (see {@link #dump}). */
    @Override
    public boolean handles(String target) {
        return target.startsWith("socket:[");
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        Injector inj = ctx.injector();
        long inode = Long.parseLong(target.substring("socket:[".length(), target.length() - 1));
        String what = "fd " + fd + " " + target;
        int family = SocketOptions.getInt(inj, fd, SOL_SOCKET, SO_DOMAIN, "getsockopt(SO_DOMAIN) " + what);
        int type = SocketOptions.getInt(inj, fd, SOL_SOCKET, SO_TYPE, "getsockopt(SO_TYPE) " + what);
        int protocol = SocketOptions.getInt(inj, fd, SOL_SOCKET, SO_PROTOCOL, "getsockopt(SO_PROTOCOL) " + what);
        boolean tcp = type == SOCK_STREAM && protocol == IPPROTO_TCP;
        boolean udp = type == SOCK_DGRAM && (protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE);
        boolean raw = type == SOCK_RAW, ping = ping(family, type, protocol);
        if ((family != AF_INET && family != AF_INET6) || !(tcp || udp || raw || ping)) {
            refuseOther(ctx, fd, inode);
            return;
        }
        InetSocket.Builder s = InetSocket.newBuilder().setFamily(family).setType(type).setProtocol(protocol)
                .setFlags(info.flags());
        int state = -1;
        if (tcp) {
            ByteBuffer tcpInfo = ByteBuffer.wrap(SocketOptions.get(inj, fd, IPPROTO_TCP, TCP_INFO, 232,
                    "getsockopt(TCP_INFO) " + what)).order(ByteOrder.LITTLE_ENDIAN);
            state = tcpInfo.get(0);
            if (state != TCP_LISTEN && state != TCP_CLOSE && !TcpStates.saved(state)) {
                refuseState(ctx, fd, inode, state);
                return;
            }
            if (state == TCP_LISTEN) {
                int queued = tcpInfo.getInt(24), backlog = tcpInfo.getInt(28);  // tcpi_unacked, tcpi_sacked
                if (queued != 0) {
                    ctx.refuse("fd " + fd, "socket (" + SocketTable.describe(ctx.pid(), inode) + ")", queued
                            + " connection(s) waiting to be accepted: not supported yet (accept them first)");
                    return;
                }
                s.setListening(true).setBacklog(backlog);
            }
        } else if (udp || ping) {
            Optional<SocketTable.Row> row = SocketTable.find(ctx.pid(), inode);
            if (row.isPresent() && row.get().rxQueue() != 0) {
                ctx.refuse("fd " + fd, "socket (" + row.get().describe() + ")", "datagrams queued ("
                        + row.get().rxQueue() + " bytes of receive buffer): not supported yet (read them first)");
                return;
            }
            if (udp) {   // ping sockets have no sock_diag handler: their shutdown state is not read
                s.setShutdown(InetDiag.find(ctx.pid(), family, protocol, inode).map(InetDiag.Entry::shutdown).orElse(0));
            }
        }
        byte[] local = address(inj, Arch.SYS_GETSOCKNAME, fd, "getsockname " + what);
        s.setLocal(ByteString.copyFrom(local));
        long peer = peerAddress(inj, fd, what);
        if (peer > 0) {
            s.setPeer(ByteString.copyFrom(inj.get(0, (int) peer)));
        }
        boolean connection = tcp && TcpStates.saved(state);
        for (var o : SocketOptions.read(inj, fd, family, protocol, type, what)) {
            if (!(o.getLevel() == IPPROTO_TCP && o.getName() == TcpRepair.TCP_MAXSEG && negotiatedMss(o, connection))) {
                s.addOptions(o);
            }
        }
        if (connection) {
            String name = "fd " + fd + " socket (" + SocketTable.describe(ctx.pid(), inode) + ")";
            s.setConnection(TcpConnections.of(ctx).dump(ctx, fd, state, local, s.getPeer().toByteArray(), name));
        }
        d.setInet(s);
    }

    /**
     * Whether TCP_MAXSEG reads the MSS a connection negotiated (mss_cache), not a user's limit:
     * always for a connection (TCP_REPAIR_OPTIONS sets it again), and for a socket closed after
     * a connection when above the largest a user may set (MAX_TCP_WINDOW, 32767: setsockopt
     * refuses more, and over loopback the MSS is 65483).
     */
    private static boolean negotiatedMss(dev.amber.image.proto.SocketOption o, boolean connection) {
        return connection || ByteBuffer.wrap(o.getValue().toByteArray()).order(ByteOrder.LITTLE_ENDIAN).getInt() > 32767;
    }

    /** The refusal sockets had before this kind: the table's description, "not supported yet". */
    private static void refuseOther(DumpContext ctx, int fd, long inode) {
        ctx.refuse("fd " + fd, "socket (" + SocketTable.describe(ctx.pid(), inode) + ")", "not supported yet");
    }

    /** A TCP connection being set up: repair mode cannot bring a handshake back. */
    private static void refuseState(DumpContext ctx, int fd, long inode, int state) {
        ctx.refuse("fd " + fd, "socket (" + SocketTable.describe(ctx.pid(), inode) + ")", "TCP connection in state "
                + TcpStates.name(state) + " (handshake in progress): not supported (checkpoint once connect(2) has"
                + " finished)");
    }

    /** getsockname or getpeername into scratch offset 0; the sockaddr's bytes. */
    private static byte[] address(Injector inj, int nr, long fd, String name) throws IOException {
        inj.put(SocketOptions.LENGTH_AT, le(SOCKADDR_SIZE));
        inj.check(name, nr, fd, inj.scratch(), inj.scratch() + SocketOptions.LENGTH_AT);
        return inj.get(0, Math.min(SOCKADDR_SIZE, ByteBuffer.wrap(inj.get(SocketOptions.LENGTH_AT, 4))
                .order(ByteOrder.LITTLE_ENDIAN).getInt()));
    }

    /** getpeername: the length of the sockaddr left at scratch offset 0, or 0 when not connected. */
    private static long peerAddress(Injector inj, long fd, String what) throws IOException {
        inj.put(SocketOptions.LENGTH_AT, le(SOCKADDR_SIZE));
        long r = inj.call(Arch.SYS_GETPEERNAME, fd, inj.scratch(), inj.scratch() + SocketOptions.LENGTH_AT);
        if (r == -ENOTCONN) {
            return 0;
        }
        dev.amber.sys.ErrnoException.check(r, "getpeername " + what, "in pid " + inj.tracee().tid());
        return Math.min(SOCKADDR_SIZE, ByteBuffer.wrap(inj.get(SocketOptions.LENGTH_AT, 4))
                .order(ByteOrder.LITTLE_ENDIAN).getInt());
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        InetSocket s = d.getInet();
        String name = Sockaddr.describe(protocolName(s), s.getLocal().toByteArray());
        String what = "fd " + d.getFd() + " " + name;
        long fd = inj.check("socket " + what, Arch.SYS_SOCKET, s.getFamily(), s.getType() | (s.getFlags() & O_NONBLOCK),
                s.getProtocol());
        SocketOptions.write(inj, fd, s.getOptionsList(), what);
        if (s.hasConnection()) {
            TcpRestore.connect(ctx, fd, s, what);
            TcpRestore.unlockAfter(ctx, s.getConnection().getLock());
            return fd;
        }
        boolean sharing = s.getListening() && ListenerSharing.lend(ctx, fd, d.getFd(), s, what);
        byte[] local = s.getLocal().toByteArray();
        if (s.getType() == SOCK_RAW ? !Sockaddr.anyAddress(local) : Sockaddr.port(local) != 0) {
            bind(ctx, fd, s, local, what);
        }
        if (s.getListening()) {
            inj.check("listen(" + s.getBacklog() + ") " + what, Arch.SYS_LISTEN, fd, s.getBacklog());
        }
        if (sharing) {
            ListenerSharing.giveBackAtEnd(ctx, d.getFd(), what);
        }
        if (!s.getPeer().isEmpty()) {
            byte[] peer = s.getPeer().toByteArray();
            inj.check("connect to " + Sockaddr.address(peer) + ":" + Sockaddr.port(peer) + " " + what,
                    Arch.SYS_CONNECT, fd,
                    inj.put(0, peer), peer.length);
        }
        if (s.getShutdown() != 0) {
            // sk_shutdown bits RCV 1, SEND 2 are SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2 plus one. An
            // unconnected datagram socket answers ENOTCONN but is shut down all the same
            // (net/ipv4/af_inet.c inet_shutdown).
            long r = inj.call(Arch.SYS_SHUTDOWN, fd, s.getShutdown() - 1);
            if (r != -ENOTCONN) {
                dev.amber.sys.ErrnoException.check(r, "shutdown(" + (s.getShutdown() - 1) + ") " + what,
                        "in pid " + ctx.pid());
            }
        }
        return fd;
    }

    /** A ping socket (net/ipv4/ping.c): SOCK_DGRAM with ICMP for IPv4, ICMPv6 for IPv6. */
    private static boolean ping(int family, int type, int protocol) {
        return type == SOCK_DGRAM && (family == AF_INET && protocol == IPPROTO_ICMP
                || family == AF_INET6 && protocol == IPPROTO_ICMPV6);
    }

    /** {@code tcp}, {@code udp} or {@code raw}, the word of the socket tables and of messages. */
    static String protocolName(InetSocket s) {
        return s.getType() == SOCK_RAW ? "raw" : s.getProtocol() == IPPROTO_TCP ? "tcp"
                : s.getProtocol() == IPPROTO_UDPLITE ? "udplite" : ping(s.getFamily(), s.getType(), s.getProtocol())
                ? "ping" : "udp";
    }

    /**
     * bind(2) to the saved address. An address this host does not have (EADDRNOTAVAIL) was
     * bound with IP_FREEBIND or IP_TRANSPARENT set at the time, maybe cleared since (the kernel
     * checks it only at bind): it is set for the bind and put back to its saved value after.
     */
    private static void bind(RestoreContext ctx, long fd, InetSocket s, byte[] local, String what) throws IOException {
        Injector inj = ctx.injector();
        long r = inj.call(Arch.SYS_BIND, fd, inj.put(0, local), local.length);
        if (r == -EADDRNOTAVAIL) {
            int level = s.getFamily() == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
            int option = s.getFamily() == AF_INET6 ? IPV6_FREEBIND : IP_FREEBIND;
            int saved = SocketOptions.getInt(inj, fd, level, option, "getsockopt(IP_FREEBIND) " + what);
            inj.check("setsockopt(IP_FREEBIND, 1) " + what, Arch.SYS_SETSOCKOPT, fd, level, option, inj.put(
                    SocketOptions.VALUE_AT, le(1)), 4);
            r = inj.call(Arch.SYS_BIND, fd, inj.put(0, local), local.length);
            inj.check("setsockopt(IP_FREEBIND, " + saved + ") " + what, Arch.SYS_SETSOCKOPT, fd, level, option,
                    inj.put(SocketOptions.VALUE_AT, le(saved)), 4);
        }
        if (r == -EADDRINUSE) {
            throw new IOException("pid " + ctx.pid() + " " + what + ": bind: address " + Sockaddr.address(local)
                    + " port " + Sockaddr.port(local) + " is in use on this host: stop what holds it (ss -anp"
                    + " 'sport = :" + Sockaddr.port(local) + "'), then restart again");
        }
        dev.amber.sys.ErrnoException.check(r, "bind " + what, "in pid " + ctx.pid());
    }

    private static byte[] le(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }
}
