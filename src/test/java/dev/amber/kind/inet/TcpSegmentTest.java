package dev.amber.kind.inet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The segments made for half-closed connections: layout and both checksums, IPv4, v4-mapped and IPv6. */
class TcpSegmentTest {
    private static final byte[] V4_PEER = {2, 0, (byte) 0x22, (byte) 0xb0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    private static final byte[] V4_LOCAL = {2, 0, (byte) 0xc3, 0x50, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};

    @Test
    void ipv4_fin() {
        byte[] p = TcpSegment.packet(V4_PEER, V4_LOCAL, 0x01020304, 0x0a0b0c0d, TcpSegment.FIN | TcpSegment.ACK, 512);
        assertEquals(40, p.length);
        assertEquals(0x45, p[0] & 0xff);
        assertEquals(6, p[9]);
        assertEquals(0, TcpSegment.sum(Arrays.copyOf(p, 20)), "IPv4 header checksum");
        ByteBuffer tcp = ByteBuffer.wrap(p, 20, 20).slice();
        assertEquals(8880, tcp.getShort(0) & 0xffff);
        assertEquals(50000, tcp.getShort(2) & 0xffff);
        assertEquals(0x01020304, tcp.getInt(4));
        assertEquals(0x0a0b0c0d, tcp.getInt(8));
        assertEquals(0x11, tcp.get(13));
        assertEquals(512, tcp.getShort(14));
        assertEquals(0, tcpSum(Arrays.copyOfRange(p, 12, 16), Arrays.copyOfRange(p, 16, 20), Arrays.copyOfRange(p, 20, 40)));
    }

    @Test
    void v4_mapped_is_ipv4() {
        byte[] p = TcpSegment.packet(mapped(V4_PEER), mapped(V4_LOCAL), 1, 2, TcpSegment.ACK, 0x1ffff);
        assertEquals(40, p.length);
        assertArrayEquals(new byte[] {127, 0, 0, 1}, Arrays.copyOfRange(p, 12, 16));
        assertEquals(0xffff, ByteBuffer.wrap(p).getShort(34) & 0xffff, "the window field is 16 bits");
    }

    @Test
    void ipv6_fin() {
        byte[] peer = new byte[28], local = new byte[28];
        peer[0] = local[0] = 10;
        peer[3] = 80;
        local[3] = 81;
        peer[23] = local[23] = 1;   // ::1
        byte[] p = TcpSegment.packet(peer, local, 7, 9, TcpSegment.FIN | TcpSegment.ACK, 100);
        assertEquals(60, p.length);
        assertEquals(6, p[0] >> 4);
        assertEquals(20, ByteBuffer.wrap(p).getShort(4));
        assertEquals(6, p[6]);
        assertEquals(0, tcpSum(Arrays.copyOfRange(p, 8, 24), Arrays.copyOfRange(p, 24, 40), Arrays.copyOfRange(p, 40, 60)));
    }

    /** The checksum over pseudo-header and segment, checksum field included: 0 when right. */
    private static int tcpSum(byte[] src, byte[] dst, byte[] tcp) {
        ByteBuffer b = ByteBuffer.allocate(2 * src.length + 4 + tcp.length);
        b.put(src).put(dst).putShort((short) 6).putShort((short) tcp.length).put(tcp);
        return TcpSegment.sum(b.array());
    }

    /** sockaddr_in6 of ::ffff:a.b.c.d for a sockaddr_in. */
    private static byte[] mapped(byte[] v4) {
        byte[] sa = new byte[28];
        sa[0] = 10;
        sa[2] = v4[2];
        sa[3] = v4[3];
        sa[18] = sa[19] = (byte) 0xff;
        System.arraycopy(v4, 4, sa, 20, 4);
        return sa;
    }
}
