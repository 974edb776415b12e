package dev.amber.kind.unix;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.SocketOption;
import dev.amber.kind.inet.SocketOptions;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The SOL_SOCKET options a unix socket keeps, read with getsockopt and written back with
 * setsockopt where a fresh socket's value differs, both injected into the process that holds it:
 * the ones only unix sockets have here (credentials and security context passing, the peek
 * offset), and every option any socket has ({@link SocketOptions}: buffers, timeouts, priority,
 * linger, filter…).
 *
 * <p>SO_SNDBUF and SO_RCVBUF read back twice what was set (the kernel doubles the value for its
 * own bookkeeping, and caps what it is given at net.core.wmem_max / rmem_max). The saved value is
 * written back halved with SO_SNDBUFFORCE / SO_RCVBUFFORCE, which ignore the cap and need
 * CAP_NET_ADMIN (which a restart as root has; CAP_SYS_RESOURCE, which this host lacks, is not
 * involved). Without it the plain option is used, which reads back the same number whenever the
 * value was within the host's cap, as any value an unprivileged program set was.
 */
final class UnixOptions {
    private static final int SOL_SOCKET = 1, ENOPROTOOPT = 92, EPERM = 1, AF_UNIX = 1;
    static final int SO_SNDBUF = 7, SO_RCVBUF = 8, SO_PEEK_OFF = 42;
    private static final int SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33;
    private static final int VALUE_AT = 256, LENGTH_AT = 512;

    private record Option(String name, int option, int size) {}

    private static final List<Option> ALL = List.of(
            new Option("SO_PASSCRED", 16, 4),
            new Option("SO_PASSSEC", 34, 4),
            new Option("SO_PASSPIDFD", 76, 4),    // 6.5+
            new Option("SO_PEEK_OFF", SO_PEEK_OFF, 4));

    private UnixOptions() {}

    static List<SocketOption> read(Injector inj, long fd, int type, String what) throws IOException {
        List<SocketOption> out = new ArrayList<>(SocketOptions.read(inj, fd, AF_UNIX, 0, type, what));
        for (Option o : ALL) {
            byte[] v = get(inj, fd, o.option(), o.size(), o.name(), what);
            if (v != null) {
                out.add(SocketOption.newBuilder().setLevel(SOL_SOCKET).setName(o.option())
                        .setValue(ByteString.copyFrom(v)).build());
            }
        }
        return out;
    }

    private static boolean own(SocketOption s) {
        return s.getLevel() == SOL_SOCKET && ALL.stream().anyMatch(o -> o.option() == s.getName());
    }

    /**
     * Sets each saved option whose value differs from what socket {@code fd} has now: the common
     * ones first, in their order, then the unix ones (the peek offset last, after the queue is back).
     */
    static void write(Injector inj, long fd, List<SocketOption> saved, String what) throws IOException {
        SocketOptions.write(inj, fd, saved.stream().filter(s -> !own(s)).toList(), what);
        for (SocketOption s : saved) {
            if (!own(s)) {
                continue;
            }
            String name = ALL.stream().filter(o -> o.option() == s.getName()).map(Option::name).findFirst()
                    .orElse("option " + s.getName());
            byte[] value = s.getValue().toByteArray();
            byte[] now = get(inj, fd, s.getName(), value.length, name, what);
            if (now == null || Arrays.equals(now, value)) {
                continue;
            }
            inj.check("setsockopt(" + name + ") " + what, Arch.SYS_SETSOCKOPT, fd, SOL_SOCKET, s.getName(),
                    inj.put(VALUE_AT, value), value.length);
        }
    }
    /** SO_SNDBUF or SO_RCVBUF to {@code half} (reads back doubled): the FORCE option, else the capped one. */
    static void setBuffer(Injector inj, long fd, int option, int half, String what) throws IOException {
        String name = option == SO_SNDBUF ? "SO_SNDBUF" : "SO_RCVBUF";
        long at = inj.put(VALUE_AT, UnixQueue.le(half));
        long r = inj.call(Arch.SYS_SETSOCKOPT, fd, SOL_SOCKET, option == SO_SNDBUF ? SO_SNDBUFFORCE : SO_RCVBUFFORCE, at, 4);
        if (r == -EPERM) {
            r = inj.call(Arch.SYS_SETSOCKOPT, fd, SOL_SOCKET, option, at, 4);
        }
        dev.amber.sys.ErrnoException.check(r, "setsockopt(" + name + ", " + half + ") " + what, "in pid " + inj.tracee().tid());
    }

    /** The option's value, or null when this kernel does not know it. */
    private static byte[] get(Injector inj, long fd, int option, int size, String name, String what) throws IOException {
        inj.put(LENGTH_AT, UnixQueue.le(size));
        long r = inj.call(Arch.SYS_GETSOCKOPT, fd, SOL_SOCKET, option, inj.scratch() + VALUE_AT, inj.scratch() + LENGTH_AT);
        if (r == -ENOPROTOOPT) {
            return null;
        }
        dev.amber.sys.ErrnoException.check(r, "getsockopt(" + name + ") " + what, "in pid " + inj.tracee().tid());
        int length = ByteBuffer.wrap(inj.get(LENGTH_AT, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (length < 0 || length > size) {
            throw new IOException("getsockopt(" + name + ") " + what + ": returned length " + length + ", expected at most " + size);
        }
        return inj.get(VALUE_AT, length);
    }
}
