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
 * The socket options an inet socket keeps, read with getsockopt and written with setsockopt,
 * both injected in the process that owns the socket. Values are kept as getsockopt wrote them.
 *
 * <p>A restore sets an option only when a fresh socket's value differs: setting a default
 * explicitly is not neutral (SO_RCVBUF turns TCP's receive-buffer autotuning off for the socket
 * and the connections a listener accepts; IP_TTL stops following the sysctl). The kernel
 * doubles SO_RCVBUF/SO_SNDBUF values for its bookkeeping and caps them at net.core.rmem_max /
 * wmem_max, so the saved (doubled) value is written back halved with SO_RCVBUFFORCE /
 * SO_SNDBUFFORCE (CAP_NET_ADMIN, which the restart has), reading back the same number.
 */
final class SocketOptions {
    static final int SOL_SOCKET = 1, IPPROTO_IP = 0, IPPROTO_TCP = 6, IPPROTO_IPV6 = 41;
    static final int AF_INET = 2, AF_INET6 = 10;
    private static final int SO_SNDBUF = 7, SO_RCVBUF = 8, SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33;
    // x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
    
    /** Scratch offsets: the value, then its socklen_t. */
    static final int VALUE_AT = 0, LENGTH_AT = 1024;

    /** One option: where it lives, how big its value is, and for which family and protocol (0: any). */
    private record Option(String name, int level, int option, int size, int family, int protocol) {
        Option(String name, int level, int option, int size, int family) {
            this(name, level, option, size, family, ANY);
        }
    }

    private static final int ANY = 0;
    private static final List<Option> ALL = List.of(
            new Option("SO_REUSEADDR", SOL_SOCKET, 2, 4, ANY),
            new Option("SO_REUSEPORT", SOL_SOCKET, 15, 4, ANY),
            new Option("SO_KEEPALIVE", SOL_SOCKET, 9, 4, ANY),
            new Option("SO_BROADCAST", SOL_SOCKET, 6, 4, ANY),
            new Option("SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, 4, ANY),
            new Option("SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, 4, ANY),
            new Option("SO_RCVTIMEO", SOL_SOCKET, 20, 16, ANY),   // struct timeval (SO_RCVTIMEO_OLD on x86-64)
            new Option("SO_SNDTIMEO", SOL_SOCKET, 21, 16, ANY),
            new Option("IP_TOS", IPPROTO_IP, 1, 4, AF_INET),
            new Option("IP_TTL", IPPROTO_IP, 2, 4, AF_INET),
            // Before bind: whether [::]:port also takes 0.0.0.0:port.
            new Option("IPV6_V6ONLY", IPPROTO_IPV6, 26, 4, AF_INET6),
            new Option("IPV6_UNICAST_HOPS", IPPROTO_IPV6, 16, 4, AF_INET6),
            new Option("IPV6_TCLASS", IPPROTO_IPV6, 67, 4, AF_INET6),
            new Option("TCP_NODELAY", IPPROTO_TCP, 1, 4, ANY, IPPROTO_TCP));

    private SocketOptions() {}

    /** Every option that applies to a socket of this family and protocol, as it is now. */
    static List<SocketOption> read(Injector inj, long fd, int family, int protocol, String what) throws IOException {
        List<SocketOption> out = new ArrayList<>();
        for (Option o : ALL) {
            if (applies(o, family, protocol)) {
                out.add(SocketOption.newBuilder().setLevel(o.level()).setName(o.option())
                        .setValue(com.google.protobuf.ByteString.copyFrom(get(inj, fd, o.level(), o.option(), o.size(),
                                "getsockopt(" + o.name() + ") " + what)))
                        .build());
            }
        }
        return out;
    }

    /** Sets each saved option whose value differs from what the fresh socket {@code fd} has. */
    static void write(Injector inj, long fd, List<SocketOption> saved, String what) throws IOException {
        for (SocketOption s : saved) {
            String name = ALL.stream().filter(o -> o.level() == s.getLevel() && o.option() == s.getName())
                    .map(Option::name).findFirst().orElse(s.getLevel() + "/" + s.getName());
            byte[] value = s.getValue().toByteArray();
            byte[] fresh = get(inj, fd, s.getLevel(), s.getName(), value.length, "getsockopt(" + name + ") " + what);
            if (Arrays.equals(fresh, value)) {
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
    static byte[] get(Injector inj, long fd, int level, int option, int size, String name) throws IOException {
        inj.put(LENGTH_AT, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(size).array());
        inj.check(name, Arch.SYS_GETSOCKOPT, fd, level, option, inj.scratch() + VALUE_AT, inj.scratch() + LENGTH_AT);
        int length = ByteBuffer.wrap(inj.get(LENGTH_AT, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (length < 0 || length > size) {
            throw new IOException(name + ": returned length " + length + ", expected at most " + size);
        }
        return inj.get(VALUE_AT, length);
    }

    static int getInt(Injector inj, long fd, int level, int option, String name) throws IOException {
        byte[] v = get(inj, fd, level, option, 4, name);
        if (v.length != 4) {
            throw new IOException(name + ": returned " + v.length + " bytes, expected 4");
        }
        return ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    private static boolean applies(Option o, int family, int protocol) {
        return (o.family() == ANY || o.family() == family) && (o.protocol() == ANY || o.protocol() == protocol);
    }
}
