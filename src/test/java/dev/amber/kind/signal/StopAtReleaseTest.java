package dev.amber.kind.signal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.Signals;
import dev.amber.image.proto.Thread;
import org.junit.jupiter.api.Test;

/**
 * Which stop signal a restored process gets at release ({@link SignalKind#stopAtRelease}) and
 * which saved pending signals the injected calls leave out ({@link Siginfo#leftForRelease}).
 */
class StopAtReleaseTest {
    private static ByteString siginfo(int signo) {
        byte[] b = new byte[128];
        b[0] = (byte) signo;
        return ByteString.copyFrom(b);
    }

    @Test
    void a_stopped_process_gets_its_own_stop_signal() {
        Process p = Process.newBuilder().setStopped(true).setStopSignal(20).build();
        assertEquals(20, SignalKind.stopAtRelease(p, false));
        assertEquals(20, SignalKind.stopAtRelease(p, true), "--frozen keeps the signal it was stopped by");
    }

    @Test
    void an_older_image_says_stopped_only() {
        assertEquals(19, SignalKind.stopAtRelease(Process.newBuilder().setStopped(true).build(), false));
    }

    @Test
    void a_running_process_with_sigstop_pending_is_stopped_at_release() {
        Process shared = Process.newBuilder().setSignals(Signals.newBuilder().addSharedPending(siginfo(19))).build();
        Process thread = Process.newBuilder().addThreads(Thread.newBuilder().addPending(siginfo(19))).build();
        Process other = Process.newBuilder().addThreads(Thread.newBuilder().addPending(siginfo(20))).build();
        assertEquals(19, SignalKind.stopAtRelease(shared, false));
        assertEquals(19, SignalKind.stopAtRelease(thread, false));
        assertEquals(0, SignalKind.stopAtRelease(other, false), "a pending SIGTSTP is queued like any signal");
        assertEquals(19, SignalKind.stopAtRelease(other, true), "--frozen");
    }

    @Test
    void pending_stop_signals_left_out() {
        assertTrue(Siginfo.leftForRelease(siginfo(19).toByteArray(), false), "SIGSTOP cannot be blocked");
        assertFalse(Siginfo.leftForRelease(siginfo(20).toByteArray(), false), "SIGTSTP in a running process");
        for (int s : new int[] {19, 20, 21, 22}) {
            assertTrue(Siginfo.leftForRelease(siginfo(s).toByteArray(), true), "signal " + s + " while stopped");
        }
        assertFalse(Siginfo.leftForRelease(siginfo(18).toByteArray(), true), "SIGCONT is queued");
        assertFalse(Siginfo.leftForRelease(siginfo(10).toByteArray(), true), "SIGUSR1 is queued");
    }
}
