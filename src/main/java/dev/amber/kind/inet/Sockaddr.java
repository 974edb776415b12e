package dev.amber.kind.inet;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * Reads the sockaddr bytes getsockname and getpeername return, for messages and for telling a
 * bound socket from an unbound one (port 0):
 *
 * <pre>
 * sockaddr_in   family:u16 (host order)  port:u16 (network order)  addr:4  zero:8
 * sockaddr_in6  family:u16               port:u16                  flowinfo:4  addr:16  scope_id:4
 * </pre>
 */
final class Sockaddr {
    private static final int AF_INET6 = 10;

    private Sockaddr() {}

    static int port(byte[] sa) {
        return sa.length < 4 ? 0 : (sa[2] & 0xff) << 8 | (sa[3] & 0xff);
    }

    /** Whether the address is the wildcard (0.0.0.0 or ::): a raw socket bound to nothing in particular. */
    static boolean anyAddress(byte[] sa) {
        boolean v6 = sa.length >= 24 && ((sa[0] & 0xff) | (sa[1] & 0xff) << 8) == AF_INET6;
        int from = v6 ? 8 : 4, to = v6 ? 24 : 8;
        for (int i = from; i < Math.min(to, sa.length); i++) {
            if (sa[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /** {@code 127.0.0.1} or {@code [::1]}. */
    static String address(byte[] sa) {
        boolean v6 = sa.length >= 24 && ((sa[0] & 0xff) | (sa[1] & 0xff) << 8) == AF_INET6;
        try {
            if (v6) {
                return "[" + InetAddress.getByAddress(Arrays.copyOfRange(sa, 8, 24)).getHostAddress() + "]";
            }
            return sa.length >= 8 ? InetAddress.getByAddress(Arrays.copyOfRange(sa, 4, 8)).getHostAddress() : "?";
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);  // only for lengths other than 4 and 16
        }
    }

    /** {@code tcp 127.0.0.1:8080}, {@code udp6 [::1]:53}. */
    static String describe(String protocol, byte[] sa) {
        boolean v6 = address(sa).startsWith("[");
        return protocol + (v6 ? "6 " : " ") + address(sa) + ":" + port(sa);
    }
}
