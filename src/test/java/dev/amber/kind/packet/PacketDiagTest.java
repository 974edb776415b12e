package dev.amber.kind.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * {@link PacketDiag} on bytes recorded from this kernel (6.18): a SOCK_DGRAM ETH_P_IP packet
 * socket bound to lo (index 1), a UNICAST membership added twice, an RX ring of 2 blocks of
 * 4096 bytes in frames of 1024, PACKET_COPY_THRESH 100; one answer of a SOCK_DIAG_BY_FAMILY
 * dump for AF_PACKET (INFO, MCLIST, RING_CFG shown), then NLMSG_DONE.
 */
class PacketDiagTest {
    static final long INODE = 3906054;
    static final String ANSWER = "940000001400020001000000367e000011020008069a3b0021070000000000001c000000010000000000000000000000"
            + "640000000000000001000000080005000000000030000100010000000200000003000600000000000000000000000000"
            + "000000000000000000000000000000000000000020000200001000000200000000040000080000000000000000000000"
            + "00000000";
    static final String DONE = "140000000300020001000000367e000000000000";

    @Test
    void info_memberships_and_ring() {
        PacketDiag.Entry e = PacketDiag.parse(HexFormat.of().parseHex(ANSWER), INODE);
        assertEquals(2, e.type(), "SOCK_DGRAM");
        assertEquals(0x0800, e.protocol(), "ETH_P_IP, host order");
        assertEquals(1, e.ifindex());
        assertEquals(100, e.copyThresh());
        assertEquals(1, e.memberships().size());
        var m = e.memberships().getFirst();
        assertEquals(1, m.getIfindex());
        assertEquals(3, m.getType(), "PACKET_MR_UNICAST");
        assertEquals(2, m.getCount(), "added twice");
        assertEquals(6, m.getAddress().size());
        assertEquals(4096, e.rxRing().getBlockSize());
        assertEquals(2, e.rxRing().getBlockNr());
        assertEquals(1024, e.rxRing().getFrameSize());
        assertEquals(8, e.rxRing().getFrameNr());
        assertNull(e.txRing(), "no TX ring");
    }

    @Test
    void another_inode_is_not_taken() {
        assertNull(PacketDiag.parse(HexFormat.of().parseHex(ANSWER), INODE + 1));
    }

    @Test
    void done_ends_the_dump() throws IOException {
        assertFalse(PacketDiag.done(HexFormat.of().parseHex(ANSWER)));
        assertTrue(PacketDiag.done(HexFormat.of().parseHex(ANSWER + DONE)));
    }

    @Test
    void enoent_says_which_module() {
        String error = "240000000200000001000000367e0000feffffff" + "00".repeat(16);
        IOException e = assertThrows(IOException.class, () -> PacketDiag.done(HexFormat.of().parseHex(error)));
        assertEquals("packet_diag: the kernel answered errno 2 (ENOENT: packet_diag not built or not loaded:"
                + " modprobe af_packet_diag)", e.getMessage());
    }
}
