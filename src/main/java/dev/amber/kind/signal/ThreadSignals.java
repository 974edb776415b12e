package dev.amber.kind.signal;

import dev.amber.image.proto.SignalStack;
import dev.amber.image.proto.Thread;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import dev.amber.trace.Tracee;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The signal state that belongs to one thread: its blocked mask, its thread-directed pending
 * signals and its alternate signal stack. Works on any seized thread with an injector open, so
 * the code that saves non-leader threads can call it too.
 *
 * <p>{@code stack_t} on x86-64, as sigaltstack(2) reads and writes it:
 *
 * <pre>
 *  0  u64 ss_sp
 *  8  i32 ss_flags    SS_ONSTACK 1, SS_DISABLE 2, SS_AUTODISARM 1 &lt;&lt; 31
 * 12  pad
 * 16  u64 ss_size
 * </pre>
 */
public final class ThreadSignals {
    static final int SS_ONSTACK = 1, SS_DISABLE = 2;
    private static final int STACK_T_SIZE = 24, OLD_AT = 0, NEW_AT = 64;

    private ThreadSignals() {}

    /**
     * Saves the thread's signal state into {@code thread}. The blocked mask is the injector's
     * saved one: while it is open the task's own mask is all-ones. Signals the tracer took off
     * the task while seizing it ({@link Tracee#heldSignals()}) had already been dequeued, so they
     * come first, then the queue as PTRACE_PEEKSIGINFO shows it, oldest first.
     */
    public static void dump(Tracee tracee, Injector injector, Thread.Builder thread) throws IOException {
        thread.setBlocked(injector.savedMask());
        for (byte[] info : tracee.heldSignals()) {
            thread.addPending(ByteString.copyFrom(info));
        }
        for (byte[] info : tracee.pendingSignals(false)) {
            thread.addPending(ByteString.copyFrom(info));
        }
        thread.setAltstack(readAltstack(injector));
    }

    /**
     * Queues the thread's pending signals again (but those {@link Siginfo#leftForRelease}, with
     * {@code stopped} when the process was stopped by a signal) and sets its alternate stack. The blocked mask is
     * left to the restart pipeline, which sets it last; until then the injector holds every
     * signal off, so nothing queued here is delivered early.
     */
    public static void restore(Injector injector, Thread thread, boolean stopped) throws IOException {
        if (thread.getPendingCount() > 0) {
            // Ids as the task itself sees them: it may live in a pid namespace of its own.
            long tgid = injector.check("getpid", Arch.SYS_GETPID);
            long tid = injector.check("gettid", Arch.SYS_GETTID);
            for (var info : thread.getPendingList()) {
                if (!Siginfo.leftForRelease(info.toByteArray(), stopped)) {
                    Siginfo.queue(injector, info.toByteArray(), tgid, tid);
                }
            }
        }
        if (thread.hasAltstack()) {
            writeAltstack(injector, thread.getAltstack());
        }
    }

    static SignalStack readAltstack(Injector injector) throws IOException {
        long old = injector.scratch() + OLD_AT;
        injector.check("sigaltstack(NULL, &old)", Arch.SYS_SIGALTSTACK, 0, old);
        ByteBuffer b = ByteBuffer.wrap(injector.get(OLD_AT, STACK_T_SIZE)).order(ByteOrder.LITTLE_ENDIAN);
        return SignalStack.newBuilder().setSp(b.getLong(0)).setFlags(b.getInt(8)).setSize(b.getLong(16)).build();
    }

    /**
     * SS_ONSTACK in saved flags only reported that the thread was running on the stack (the
     * kernel derives it from the stack pointer); it is cleared before setting. A disabled stack
     * is the state of a new task and needs no call.
     */
    static void writeAltstack(Injector injector, SignalStack stack) throws IOException {
        if ((stack.getFlags() & SS_DISABLE) != 0) {
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(STACK_T_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, stack.getSp()).putInt(8, stack.getFlags() & ~SS_ONSTACK).putLong(16, stack.getSize());
        long ss = injector.put(NEW_AT, b.array());
        injector.check("sigaltstack(sp 0x" + Long.toHexString(stack.getSp()) + ", size " + stack.getSize() + ")",
                Arch.SYS_SIGALTSTACK, ss, 0);
    }
}
