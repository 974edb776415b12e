package dev.amber.kind.seccomp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.amber.image.proto.Process;
import dev.amber.image.proto.SeccompFilter;
import dev.amber.trace.Tracee.SeccompProgram;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

class SeccompChainsTest {
    /** One BPF_RET|BPF_K instruction returning {@code k}: struct sock_filter {u16 code; u8 jt, jf; u32 k}. */
    private static SeccompProgram ret(int k, long flags) {
        byte[] insn = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0x06).put((byte) 0)
                .put((byte) 0).putInt(k).array();
        return new SeccompProgram(insn, flags);
    }

    private static final SeccompProgram A = ret(0x7fff0000, 0), B = ret(0x00050001, 0), B_LOG = ret(0x00050001, 2);

    @Test
    void a_filter_is_saved_once_with_everything_before_it() {
        SeccompChains chains = new SeccompChains();
        Process.Builder parent = Process.newBuilder(), child = Process.newBuilder();
        assertEquals(1, chains.add(List.of(A), parent));
        assertEquals(2, chains.add(List.of(A, B), parent));   // a thread that added B
        assertEquals(2, chains.add(List.of(A, B), child));    // inherited: nothing new in the child
        assertEquals(3, chains.add(List.of(A, B, A), child)); // A again, on top: another filter
        assertEquals(4, chains.add(List.of(B), child));       // B with no A before it: another one
        assertEquals(5, chains.add(List.of(A, B_LOG), child));// other flags: another one
        assertEquals(List.of(0, 1), parent.getSeccompFiltersList().stream().map(SeccompFilter::getPrev).toList());
        assertEquals(List.of(3, 4, 5), child.getSeccompFiltersList().stream().map(SeccompFilter::getId).toList());
        assertEquals(List.of(2, 0, 1), child.getSeccompFiltersList().stream().map(SeccompFilter::getPrev).toList());
        assertEquals(2, child.getSeccompFilters(2).getFlags());
    }

    @Test
    void a_filter_that_can_notify_a_supervisor_is_named() {
        assertNull(SeccompChains.userNotification(List.of(A, B)));
        assertEquals("filter 2 of 3 (oldest first) can return SECCOMP_RET_USER_NOTIF: its notification listener (a"
                + " supervisor's descriptor) cannot be saved yet",
                SeccompChains.userNotification(List.of(A, ret(0x7fc00000, 0), B)));
    }
}
