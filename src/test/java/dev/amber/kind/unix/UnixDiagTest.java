package dev.amber.kind.unix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link UnixDiag} on bytes recorded from this kernel (6.18): a datagram socketpair (a, b) with
 * "hello" queued a→b and b's sending half shut, and a stream listener on the abstract name
 * {@code @amber-rec} (backlog 3) with one connection (c) waiting in its accept queue; the
 * answers to one SOCK_DIAG_BY_FAMILY dump request, kept for those four inodes, then NLMSG_DONE.
 */
class UnixDiagTest {
    static final long A = 400042, B = 400043, L = 400044, C = 400045;
    static final String RECORDED = "3c0000001400020001000000bc4f000001020100ab1a06001c0000000000000008000200aa1a0600"
            + "0c000400050000000000000005000600020000003c0000001400020001000000bc4f000001010100ad1a06001d000000000000"
            + "0008000200000000000c000400000000000000000005000600000000003c0000001400020001000000bc4f000001020100aa1a"
            + "06001e0000000000000008000200ab1a06000c000400000000000003000005000600000000004c0000001400020001000000bc"
            + "4f000001010a00ac1a06001f000000000000000e00000000616d6265722d726563000008000300ad1a06000c00040001000000"
            + "030000000500060000000000140000000300020001000000bc4f000000000000";

    private static Map<Long, UnixDiag.Entry> parse(String hex) throws IOException {
        Map<Long, UnixDiag.Entry> out = new HashMap<>();
        assertTrue(UnixDiag.parse(HexFormat.of().parseHex(hex), out), "NLMSG_DONE ends the dump");
        return out;
    }

    @Test
    void socketpair_ends_name_each_other() throws IOException {
        Map<Long, UnixDiag.Entry> t = parse(RECORDED);
        assertEquals(4, t.size());
        UnixDiag.Entry a = t.get(A), b = t.get(B);
        assertEquals(2, a.type());                        // SOCK_DGRAM
        assertEquals(UnixDiag.TCP_ESTABLISHED, a.state());
        assertEquals(B, a.peer());
        assertEquals(A, b.peer());
        assertEquals(5, b.rqueue(), "b has the 5 bytes of \"hello\" to read");
        assertEquals(0, a.rqueue());
        assertTrue(a.wqueue() > 0, "what a sent is charged to a until it is read");
        assertEquals(2, b.shutdown(), "SEND_SHUTDOWN");
        assertEquals(0, a.shutdown());
        assertEquals(0, a.name().length);
    }

    @Test
    void listener_lists_its_queued_connection() throws IOException {
        Map<Long, UnixDiag.Entry> t = parse(RECORDED);
        UnixDiag.Entry l = t.get(L), c = t.get(C);
        assertTrue(l.listening());
        assertEquals(1, l.type());                        // SOCK_STREAM
        assertArrayEquals(new long[] {C}, l.icons());
        assertEquals(1, l.rqueue(), "one connection queued");
        assertEquals(3, l.wqueue(), "backlog");
        assertEquals("@amber-rec", UnixName.display(l.name()));
        assertNull(l.peer(), "a listener has no peer attribute");
        // A connection not accepted yet: its peer (the embryo the listener holds) has no inode.
        assertEquals(0L, c.peer());
        assertEquals(Map.of(C, L), UnixDiag.Table.of(t).queuedOn());
    }

    @Test
    void dump_goes_on_until_done() throws IOException {
        String withoutDone = RECORDED.substring(0, RECORDED.length() - 40);
        Map<Long, UnixDiag.Entry> out = new HashMap<>();
        assertFalse(UnixDiag.parse(HexFormat.of().parseHex(withoutDone), out));
        assertEquals(4, out.size());
    }

    @Test
    void kernel_error_is_named() {
        // nlmsghdr type 2 (NLMSG_ERROR), then error -2 (ENOENT)
        String error = "1400000002000000010000000000000" + "0feffffff";
        IOException e = assertThrows(IOException.class, () -> parse(error));
        assertTrue(e.getMessage().contains("unix_diag"), e.getMessage());
    }

    @Test
    void truncated_message_is_refused() {
        byte[] b = Arrays.copyOf(HexFormat.of().parseHex(RECORDED), 50);
        IOException e = assertThrows(IOException.class, () -> UnixDiag.parse(b, new HashMap<>()));
        assertTrue(e.getMessage().contains("length 60 at offset 0 of 50"), e.getMessage());
    }

    @Test
    void request_asks_for_every_unix_socket_with_name_file_peer_queue_and_connections() {
        byte[] r = UnixDiag.request();
        assertEquals(40, r.length);
        assertEquals(20, r[4]);                           // SOCK_DIAG_BY_FAMILY
        assertEquals(1, r[16]);                           // AF_UNIX
        assertEquals(0x1f, r[28]);                        // NAME | VFS | PEER | ICONS | RQLEN
    }
}
