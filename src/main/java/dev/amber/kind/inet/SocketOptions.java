package dev.amber.kind.inet;

import dev.amber.sys.Arch;
import dev.amber.image.proto.SocketOption;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The socket options a socket keeps, read with getsockopt and written with setsockopt, both
 * injected in the process that owns the socket. Values are kept as getsockopt wrote them. The
 * SOL_SOCKET ones apply to every family (unix and netlink sockets take them from here too); the
 * IP, IPv6, TCP, raw, netlink and packet ones to the family and protocol they belong to.
 *
 * <p>A restore sets an option only when a fresh socket's value differs: setting a default
 * explicitly is not neutral (SO_RCVBUF turns TCP's receive-buffer autotuning off for the socket
 * and the connections a listener accepts; IP_TTL stops following the sysctl). The kernel
 * doubles SO_RCVBUF/SO_SNDBUF values for its bookkeeping and caps them at net.core.rmem_max /
 * wmem_max, so the saved (doubled) value is written back halved with SO_RCVBUFFORCE /
 * SO_SNDBUFFORCE (CAP_NET_ADMIN, which the restart has), reading back the same number.
 *
 * <p>Order is the kernel's: the list is read and written in its order. IP_TOS comes before
 * SO_PRIORITY (setting the TOS sets sk_priority from it); the buffers before SO_BUF_LOCK (setting
 * a buffer locks it); the classic BPF filter ({@link SocketFilter}) before SO_LOCK_FILTER; and
 * all of them before bind (IP_FREEBIND and IP_TRANSPARENT let bind take an address the host does
 * not have, SO_BINDTODEVICE, SO_REUSEADDR and IPV6_V6ONLY decide what bind may share).
 */
public final class SocketOptions {
    static final int SOL_SOCKET = 1, IPPROTO_IP = 0, IPPROTO_TCP = 6, IPPROTO_IPV6 = 41, SOL_RAW = 255,
            IPPROTO_ICMPV6 = 58;
    static final int AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16, SOL_NETLINK = 270, AF_PACKET = 17, SOL_PACKET = 263;
    private static final int SO_SNDBUF = 7, SO_RCVBUF = 8, SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33;
    private static final int ENOPROTOOPT = 92, EOPNOTSUPP = 95;
    private static final int SOCK_RAW = 3, IPPROTO_ICMP = 1, IPPROTO_UDPLITE = 136;

    /** Scratch offsets: the value, then its socklen_t. */
    public static final int VALUE_AT = 0, LENGTH_AT = 1024;

    /**
     * One option: where it lives, how big its value is, and for which family, protocol and
     * socket type (0: any).
     */
    private record Option(String name, int level, int option, int size, int family, int protocol, int type) {
        static Option sol(String name, int option, int size) {
            return new Option(name, SOL_SOCKET, option, size, ANY, ANY, ANY);
        }

        static Option ip(String name, int option) {
            return new Option(name, IPPROTO_IP, option, 4, AF_INET, ANY, ANY);
        }

        static Option ip6(String name, int option) {
            return new Option(name, IPPROTO_IPV6, option, 4, AF_INET6, ANY, ANY);
        }

        static Option netlink(String name, int option) {
            return new Option(name, SOL_NETLINK, option, 4, AF_NETLINK, ANY, ANY);
        }

        static Option packet(String name, int option) {
            return new Option(name, SOL_PACKET, option, 4, AF_PACKET, ANY, ANY);
        }

        static Option tcp(String name, int option, int size) {
            return new Option(name, IPPROTO_TCP, option, size, ANY, IPPROTO_TCP, ANY);
        }
    }

    private static final int ANY = 0;
    /** struct linger, a device name (IFNAMSIZ), a congestion control name (TCP_CA_NAME_MAX). */
    private static final int LINGER = 8, IFNAMSIZ = 16, CA_NAME = 16;
    private static final List<Option> ALL = List.of(
            Option.ip("IP_TOS", 1),
            Option.ip("IP_TTL", 2),
            new Option("IP_HDRINCL", IPPROTO_IP, 3, 4, AF_INET, ANY, SOCK_RAW),
            Option.ip("IP_RECVOPTS", 6),
            Option.ip("IP_RETOPTS", 7),
            Option.ip("IP_PKTINFO", 8),
            Option.ip("IP_MTU_DISCOVER", 10),
            Option.ip("IP_RECVERR", 11),
            Option.ip("IP_RECVTTL", 12),
            Option.ip("IP_RECVTOS", 13),
            Option.ip("IP_FREEBIND", 15),
            Option.ip("IP_PASSSEC", 18),
            Option.ip("IP_TRANSPARENT", 19),
            Option.ip("IP_RECVORIGDSTADDR", 20),
            Option.ip("IP_MINTTL", 21),
            new Option("IP_NODEFRAG", IPPROTO_IP, 22, 4, AF_INET, ANY, SOCK_RAW),
            Option.ip("IP_CHECKSUM", 23),
            Option.ip("IP_BIND_ADDRESS_NO_PORT", 24),
            Option.ip("IP_RECVFRAGSIZE", 25),
            Option.ip("IP_MULTICAST_TTL", 33),
            Option.ip("IP_MULTICAST_LOOP", 34),
            Option.ip("IP_MULTICAST_ALL", 49),
            new Option("ICMP_FILTER", SOL_RAW, 1, 4, AF_INET, IPPROTO_ICMP, SOCK_RAW),
            // UDP-Lite checksum coverage (net/ipv4/udp.c, SOL_UDPLITE): 0 = the whole datagram.
            new Option("UDPLITE_SEND_CSCOV", IPPROTO_UDPLITE, 10, 4, ANY, IPPROTO_UDPLITE, ANY),
            new Option("UDPLITE_RECV_CSCOV", IPPROTO_UDPLITE, 11, 4, ANY, IPPROTO_UDPLITE, ANY),
            Option.ip6("IPV6_TCLASS", 67),
            // Before bind: whether [::]:port also takes 0.0.0.0:port.
            Option.ip6("IPV6_V6ONLY", 26),
            Option.ip6("IPV6_UNICAST_HOPS", 16),
            Option.ip6("IPV6_MULTICAST_HOPS", 18),
            Option.ip6("IPV6_MULTICAST_LOOP", 19),
            Option.ip6("IPV6_MTU_DISCOVER", 23),
            Option.ip6("IPV6_RECVERR", 25),
            Option.ip6("IPV6_MULTICAST_ALL", 29),
            Option.ip6("IPV6_RECVPKTINFO", 49),
            Option.ip6("IPV6_RECVHOPLIMIT", 51),
            Option.ip6("IPV6_RECVHOPOPTS", 53),
            Option.ip6("IPV6_RECVRTHDR", 56),
            Option.ip6("IPV6_RECVDSTOPTS", 58),
            Option.ip6("IPV6_RECVTCLASS", 66),
            Option.ip6("IPV6_MINHOPCOUNT", 73),
            Option.ip6("IPV6_RECVORIGDSTADDR", 74),
            Option.ip6("IPV6_TRANSPARENT", 75),
            Option.ip6("IPV6_FREEBIND", 78),
            new Option("ICMPV6_FILTER", IPPROTO_ICMPV6, 1, 32, AF_INET6, IPPROTO_ICMPV6, SOCK_RAW),
            Option.sol("SO_REUSEADDR", 2, 4),
            Option.sol("SO_REUSEPORT", 15, 4),
            Option.sol("SO_KEEPALIVE", 9, 4),
            Option.sol("SO_BROADCAST", 6, 4),
            Option.sol("SO_DONTROUTE", 5, 4),
            Option.sol("SO_OOBINLINE", 10, 4),
            Option.sol("SO_NO_CHECK", 11, 4),
            Option.sol("SO_PRIORITY", 12, 4),
            Option.sol("SO_LINGER", 13, LINGER),
            Option.sol("SO_RCVLOWAT", 18, 4),
            Option.sol("SO_RCVBUF", SO_RCVBUF, 4),
            Option.sol("SO_SNDBUF", SO_SNDBUF, 4),
            Option.sol("SO_BUF_LOCK", 72, 4),       // 5.14+
            Option.sol("SO_RCVTIMEO", 20, 16),      // struct timeval (SO_RCVTIMEO_OLD on x86-64)
            Option.sol("SO_SNDTIMEO", 21, 16),
            Option.sol("SO_BINDTODEVICE", 25, IFNAMSIZ),
            Option.sol("SO_TIMESTAMP", 29, 4),      // SO_TIMESTAMP_OLD; at most one of the two reads 1
            Option.sol("SO_TIMESTAMPNS", 35, 4),
            Option.sol("SO_MARK", 36, 4),
            Option.sol("SO_RXQ_OVFL", 40, 4),
            Option.sol("SO_WIFI_STATUS", 41, 4),
            Option.sol("SO_SELECT_ERR_QUEUE", 45, 4),
            Option.sol("SO_BUSY_POLL", 46, 4),
            Option.sol("SO_INCOMING_CPU", 49, 4),
            Option.sol("SO_RCVMARK", 75, 4),
            new Option("SO_ATTACH_FILTER", SOL_SOCKET, SocketFilter.SO_ATTACH_FILTER, 0, ANY, ANY, ANY),
            Option.sol("SO_LOCK_FILTER", 44, 4),
            Option.tcp("TCP_NODELAY", 1, 4),
            Option.tcp("TCP_MAXSEG", 2, 4),
            Option.tcp("TCP_CORK", 3, 4),
            Option.tcp("TCP_KEEPIDLE", 4, 4),
            Option.tcp("TCP_KEEPINTVL", 5, 4),
            Option.tcp("TCP_KEEPCNT", 6, 4),
            Option.tcp("TCP_SYNCNT", 7, 4),
            Option.tcp("TCP_LINGER2", 8, 4),
            Option.tcp("TCP_DEFER_ACCEPT", 9, 4),
            Option.tcp("TCP_CONGESTION", 13, CA_NAME),
            Option.tcp("TCP_THIN_LINEAR_TIMEOUTS", 16, 4),
            Option.tcp("TCP_USER_TIMEOUT", 18, 4),
            Option.tcp("TCP_FASTOPEN", 23, 4),
            Option.tcp("TCP_NOTSENT_LOWAT", 25, 4),
            Option.tcp("TCP_SAVE_SYN", 27, 4),
            Option.tcp("TCP_TX_DELAY", 37, 4),
            Option.netlink("NETLINK_PKTINFO", 3),
            Option.netlink("NETLINK_BROADCAST_ERROR", 4),
            Option.netlink("NETLINK_NO_ENOBUFS", 5),
            Option.netlink("NETLINK_LISTEN_ALL_NSID", 8),
            Option.netlink("NETLINK_CAP_ACK", 10),
            Option.netlink("NETLINK_EXT_ACK", 11),
            Option.netlink("NETLINK_GET_STRICT_CHK", 12),
            // AF_PACKET (net/packet/af_packet.c). The version, the reserve and the virtio header
            // must be set before a ring (EBUSY after): the rings are set after every option.
            Option.packet("PACKET_VERSION", 10),
            Option.packet("PACKET_RESERVE", 12),
            Option.packet("PACKET_AUXDATA", 8),
            Option.packet("PACKET_ORIGDEV", 9),
            Option.packet("PACKET_VNET_HDR", 15),
            Option.packet("PACKET_VNET_HDR_SZ", 24),   // 6.2+; after PACKET_VNET_HDR, which sets it to 10
            Option.packet("PACKET_LOSS", 14),
            Option.packet("PACKET_TIMESTAMP", 17),
            Option.packet("PACKET_TX_HAS_OFF", 19),
            Option.packet("PACKET_QDISC_BYPASS", 20),
            Option.packet("PACKET_IGNORE_OUTGOING", 23));

    private SocketOptions() {}

    /**
     * Every option that applies to a socket of this family, protocol and type, as it is now;
     * those this kernel does not know (ENOPROTOOPT, EOPNOTSUPP) are left out.
     */
    public static List<SocketOption> read(Injector inj, long fd, int family, int protocol, int type, String what)
            throws IOException {
        List<SocketOption> out = new ArrayList<>();
        for (Option o : ALL) {
            if (!applies(o, family, protocol, type)) {
                continue;
            }
            byte[] v = o.option() == SocketFilter.SO_ATTACH_FILTER && o.level() == SOL_SOCKET
                    ? SocketFilter.read(inj, fd, what)
                    : getOrNull(inj, fd, o.level(), o.option(), o.size(), "getsockopt(" + o.name() + ") " + what);
            if (v != null) {
                out.add(SocketOption.newBuilder().setLevel(o.level()).setName(o.option())
                        .setValue(com.google.protobuf.ByteString.copyFrom(v)).build());
            }
        }
        return out;
    }

    /** The name an option goes by in messages: {@code SO_LINGER}, or {@code level/name}. */
    public static String name(int level, int option) {
        return known(level, option).map(Option::name).orElse(level + "/" + option);
    }

    /** Whether {@link #read} would have saved this option (so {@link #write} may set it). */
    public static boolean knows(SocketOption s) {
        return known(s.getLevel(), s.getName()).isPresent();
    }

    private static java.util.Optional<Option> known(int level, int option) {
        return ALL.stream().filter(o -> o.level() == level && o.option() == option).findFirst();
    }

    /** Sets each saved option whose value differs from what the fresh socket {@code fd} has. */
    public static void write(Injector inj, long fd, List<SocketOption> saved, String what) throws IOException {
        for (SocketOption s : saved) {
            String name = name(s.getLevel(), s.getName());
            byte[] value = s.getValue().toByteArray();
            if (s.getLevel() == SOL_SOCKET && s.getName() == SocketFilter.SO_ATTACH_FILTER) {
                SocketFilter.write(inj, fd, value, what);
                continue;
            }
            // Read the fresh value with the size the option takes (SO_BINDTODEVICE wants IFNAMSIZ
            // even when the saved name is shorter).
            int size = Math.max(value.length, known(s.getLevel(), s.getName()).map(Option::size).orElse(0));
            byte[] fresh = getOrNull(inj, fd, s.getLevel(), s.getName(), size, "getsockopt(" + name + ") " + what);
            if (fresh != null && Arrays.equals(fresh, value)) {
                continue;
            }
            int option = s.getName();
            if (s.getLevel() == SOL_SOCKET && (option == SO_RCVBUF || option == SO_SNDBUF)) {
                int doubled = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getInt();
                value = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(doubled / 2).array();
                option = option == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
            }
            inj.check("setsockopt(" + name + ") " + what, Arch.SYS_SETSOCKOPT, fd, s.getLevel(), option,
                    inj.put(VALUE_AT, value), value.length);
        }
    }

    /** getsockopt into scratch memory; the value as long as the kernel says it is. */
    public static byte[] get(Injector inj, long fd, int level, int option, int size, String name) throws IOException {
        byte[] v = getOrNull(inj, fd, level, option, size, name);
        if (v == null) {
            throw new IOException(name + ": this kernel does not know the option");
        }
        return v;
    }

    /** As {@link #get}, or null when the kernel does not know the option (for this socket). */
    private static byte[] getOrNull(Injector inj, long fd, int level, int option, int size, String name)
            throws IOException {
        inj.put(LENGTH_AT, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(size).array());
        long r = inj.call(Arch.SYS_GETSOCKOPT, fd, level, option, inj.scratch() + VALUE_AT, inj.scratch() + LENGTH_AT);
        if (r == -ENOPROTOOPT || r == -EOPNOTSUPP) {
            return null;
        }
        dev.amber.sys.ErrnoException.check(r, name, "in pid " + inj.tracee().tid());
        int length = ByteBuffer.wrap(inj.get(LENGTH_AT, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (length < 0 || length > size) {
            throw new IOException(name + ": returned length " + length + ", expected at most " + size);
        }
        return inj.get(VALUE_AT, length);
    }

    public static int getInt(Injector inj, long fd, int level, int option, String name) throws IOException {
        byte[] v = get(inj, fd, level, option, 4, name);
        if (v.length != 4) {
            throw new IOException(name + ": returned " + v.length + " bytes, expected 4");
        }
        return ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    /**
     * Multicast options a stream socket cannot take: setsockopt refuses them (EINVAL), though a
     * socket accepted by a listener reads the SYN's TTL as its IP_MULTICAST_TTL.
     */
    private static final java.util.Set<String> NOT_STREAM = java.util.Set.of("IP_MULTICAST_TTL",
            "IPV6_MULTICAST_HOPS", "IPV6_MULTICAST_LOOP");
    private static final int SOCK_STREAM = 1;

    private static boolean applies(Option o, int family, int protocol, int type) {
        if (type == SOCK_STREAM && NOT_STREAM.contains(o.name())) {
            return false;
        }
        return (o.family() == ANY || o.family() == family) && (o.protocol() == ANY || o.protocol() == protocol)
                && (o.type() == ANY || o.type() == type);
    }
}
