package dev.amber.kind.inet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * {@link InetDiag} on bytes recorded from this kernel (6.18): a UDP socket on 127.0.0.1,
 * connected, with "hello" in its receive queue and its sending half shut (shutdown(SHUT_WR)),
 * as one SOCK_DIAG_BY_FAMILY dump for IPPROTO_UDP answered it, then NLMSG_DONE.
 */
class InetDiagTest {
    static final long INODE = 3906050;
    static final String ANSWER = "7c0000001400020001000000367e000002010000bc16db907f0000010000000000000000000000007f00000100000000"
            + "0000000000000000000000001f0700000000000000000000400300000000000000000000029a3b000500080002000000"
            + "08000f00000000000c00150001000000000000000600160050000000";
    static final String DONE = "140000000300020001000000367e000000000000";

    @Test
    void shutdown_and_receive_queue_of_the_socket() throws IOException {
        var r = InetDiag.parse(HexFormat.of().parseHex(ANSWER), INODE);
        assertFalse(r.done());
        assertEquals(2, r.entry().shutdown(), "SEND_SHUTDOWN");
        assertEquals(0x340, r.entry().rqueue(), "sk_rmem_alloc of the queued datagram");
    }

    @Test
    void another_inode_is_not_taken() throws IOException {
        assertNull(InetDiag.parse(HexFormat.of().parseHex(ANSWER), INODE + 1).entry());
    }

    @Test
    void done_ends_the_dump() throws IOException {
        var r = InetDiag.parse(HexFormat.of().parseHex(ANSWER + DONE), INODE);
        assertTrue(r.done());
        assertEquals(2, r.entry().shutdown());
    }

    @Test
    void an_error_answer_names_the_errno() {
        String error = "240000000200000001000000367e0000feffffff" + "00".repeat(16);
        IOException e = assertThrows(IOException.class, () -> InetDiag.parse(HexFormat.of().parseHex(error), INODE));
        assertEquals("inet_diag: the kernel answered errno 2 (ENOENT: udp_diag not built or not loaded: modprobe"
                + " udp_diag)", e.getMessage());
    }

    @Test
    void the_request_asks_every_state_of_one_protocol() {
        byte[] req = InetDiag.request(2, 136);
        assertEquals(72, req.length);
        assertEquals(2, req[16]);
        assertEquals((byte) 136, req[17]);
        assertEquals("ffffffff", HexFormat.of().formatHex(req, 20, 24));
    }
}
