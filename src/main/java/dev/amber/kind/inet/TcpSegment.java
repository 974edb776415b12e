package dev.amber.kind.inet;

import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Syscall;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One TCP segment made by Amber as if the peer had sent it, to a restored socket: the peer's
 * FIN of a connection saved half closed (repair mode has no way to queue a received FIN), or its
 * ACK of our FIN. Sent through a raw socket (IPPROTO_RAW: the headers are ours) carrying the
 * network lock's mark, which the lock lets through. An address is IPv4 when it is a sockaddr_in
 * or a v4-mapped sockaddr_in6 (such a connection's packets are IPv4).
 *
 * <pre>
 * IPv4 header (20)  45 00 len:16 | id:16 flags/frag:16 | ttl proto:8 csum:16 | src:32 | dst:32
 * IPv6 header (40)  6<<28 | payload len:16 next:8 hops:8 | src:128 | dst:128
 * TCP header (20)   sport:16 dport:16 | seq:32 | ack:32 | offset<<4 flags:8 window:16 | csum:16 urg:16
 * </pre>
 */
final class TcpSegment {
    static final int FIN = 0x01, ACK = 0x10;
    private static final int AF_INET = 2, AF_INET6 = 10, SOCK_RAW = 3, IPPROTO_RAW = 255, SOL_SOCKET = 1,
            SO_MARK = 36;

    private TcpSegment() {}

    /** Sends a segment from {@code from} to {@code to} (sockaddrs) with these numbers and flags. */
    static void send(byte[] from, byte[] to, int seq, int ack, int flags, int window, String what)
            throws ErrnoException {
        byte[] dst = address(to);
        boolean v6 = dst.length == 16;
        byte[] packet = packet(from, to, seq, ack, flags, window);
        int sock = (int) Syscall.check("socket(SOCK_RAW)", what, Arch.SYS_SOCKET, v6 ? AF_INET6 : AF_INET, SOCK_RAW,
                IPPROTO_RAW);
        try (LocalBuffer b = new LocalBuffer(packet.length + 64)) {
            b.putInt(0, NetLock.MARK);
            Syscall.check("setsockopt(SO_MARK)", what, Arch.SYS_SETSOCKOPT, sock, SOL_SOCKET, SO_MARK, b.at(0), 4, 0);
            byte[] sa = new byte[v6 ? 28 : 16];
            sa[0] = (byte) (v6 ? AF_INET6 : AF_INET);
            System.arraycopy(dst, 0, sa, v6 ? 8 : 4, dst.length);
            b.put(0, sa);
            b.put(64, packet);
            Syscall.check("sendto (the peer's " + ((flags & FIN) != 0 ? "FIN" : "ACK") + ")", what, Arch.SYS_SENDTO,
                    sock, b.at(64), packet.length, 0, b.at(0), sa.length);
        } finally {
            Syscall.raw(Arch.SYS_CLOSE, sock, 0, 0);
        }
    }

    /** The whole IP packet: its header, then the TCP header (no options, no data). */
    static byte[] packet(byte[] from, byte[] to, int seq, int ack, int flags, int window) {
        byte[] src = address(from), dst = address(to);
        byte[] tcp = tcp(from, to, seq, ack, flags, window);
        setChecksum(tcp, src, dst);
        return src.length == 16 ? ipv6(src, dst, tcp) : ipv4(src, dst, tcp);
    }

    /** The 4 or 16 address bytes of a sockaddr; a v4-mapped IPv6 address as its 4. */
    private static byte[] address(byte[] sa) {
        if ((sa[0] & 0xff) != AF_INET6) {
            return Arrays.copyOfRange(sa, 4, 8);
        }
        byte[] a = Arrays.copyOfRange(sa, 8, 24);
        boolean mapped = a[10] == (byte) 0xff && a[11] == (byte) 0xff;
        for (int i = 0; i < 10; i++) {
            mapped &= a[i] == 0;
        }
        return mapped ? Arrays.copyOfRange(a, 12, 16) : a;
    }

    private static byte[] tcp(byte[] from, byte[] to, int seq, int ack, int flags, int window) {
        ByteBuffer t = ByteBuffer.allocate(20);   // network order
        t.put(from, 2, 2).put(to, 2, 2).putInt(seq).putInt(ack).put((byte) (5 << 4)).put((byte) flags)
                .putShort((short) Math.min(window, 0xffff)).putShort((short) 0).putShort((short) 0);
        return t.array();
    }

    /** The TCP checksum over the pseudo-header (addresses, protocol, length) and the segment. */
    private static void setChecksum(byte[] tcp, byte[] src, byte[] dst) {
        ByteBuffer p = ByteBuffer.allocate(2 * src.length + 4 + tcp.length + 4);
        p.put(src).put(dst).putShort((short) 6).putShort((short) tcp.length).put(tcp);
        int sum = sum(Arrays.copyOf(p.array(), p.position()));
        tcp[16] = (byte) (sum >> 8);
        tcp[17] = (byte) sum;
    }

    private static byte[] ipv4(byte[] src, byte[] dst, byte[] tcp) {
        ByteBuffer h = ByteBuffer.allocate(20 + tcp.length);
        h.put((byte) 0x45).put((byte) 0).putShort((short) (20 + tcp.length)).putShort((short) 0)
                .putShort((short) 0x4000).put((byte) 64).put((byte) 6).putShort((short) 0).put(src).put(dst);
        byte[] b = h.array();
        int sum = sum(Arrays.copyOf(b, 20));
        b[10] = (byte) (sum >> 8);
        b[11] = (byte) sum;
        System.arraycopy(tcp, 0, b, 20, tcp.length);
        return b;
    }

    private static byte[] ipv6(byte[] src, byte[] dst, byte[] tcp) {
        ByteBuffer h = ByteBuffer.allocate(40 + tcp.length);
        h.putInt(6 << 28).putShort((short) tcp.length).put((byte) 6).put((byte) 64).put(src).put(dst).put(tcp);
        return h.array();
    }

    /** The Internet checksum (RFC 1071): ones' complement of the ones' complement sum of 16-bit words. */
    static int sum(byte[] b) {
        long s = 0;
        for (int i = 0; i + 1 < b.length; i += 2) {
            s += (b[i] & 0xff) << 8 | (b[i + 1] & 0xff);
        }
        if (b.length % 2 == 1) {
            s += (b[b.length - 1] & 0xff) << 8;
        }
        while (s >> 16 != 0) {
            s = (s & 0xffff) + (s >> 16);
        }
        return (int) (~s & 0xffff);
    }
}
