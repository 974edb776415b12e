package dev.amber.kind.timer;

import dev.amber.image.proto.Timer;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A periodic ITIMER_REAL caught between its expiry and the dequeue of its SIGALRM. The kernel
 * does not re-arm ITIMER_REAL when it expires: it_real_fn sends SIGALRM, and dequeue_signal
 * re-arms the timer (forwarded by whole intervals) when that SIGALRM is taken. Until then
 * getitimer reads value 0 with the interval still set, a state setitimer cannot make (value 0
 * disarms and clears the interval). A checkpoint often finds a timer so: the freeze holds every
 * signal off, so a SIGALRM that comes meanwhile stays pending and the timer waits for it.
 *
 * <p>Restored by arming the timer to expire at once and letting it expire in the puppet, whose
 * signals are all blocked: its SIGALRM is then pending and its interval kept, as saved, and its
 * delivery after the restart re-arms the timer. This runs before the signal kind, so the saved
 * dispositions and pending signals are applied on top as they were: a SIG_IGN disposition
 * discards the SIGALRM (the saved process dropped it too, and its timer stays expired), and a
 * saved pending SIGALRM is the same one (a standard signal is pending at most once per queue).
 * Armed with value 0 instead, the timer would never tick again. Nothing to save: {@link
 * ITimerKind} saves the timers.
 */
public final class ExpiredAlarmKind implements ProcessKind {
    private static final int SIGALRM = 14, SET_AT = 128, SLEEP_AT = 192;
    private static final long SLEEP_NANOS = 100_000;
    /** 100 µs each: a timer armed for 1 µs that has not fired after a second is not going to. */
    private static final int POLLS = 10_000;

    @Override
    public String name() {
        return "expired-alarm";
    }

    /** ITIMER_REAL with value 0 and an interval: expired, SIGALRM sent and not yet dequeued. */
    static boolean expired(Timer timer) {
        return timer.getWhich() == ITimerKind.ITIMER_REAL && timer.getValueMicros() == 0
                && timer.getIntervalMicros() != 0;
    }

    @Override
    public void dump(DumpContext ctx) {
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        for (Timer timer : ctx.process().getItimersList()) {
            if (expired(timer)) {
                expire(ctx.injector(), ctx.pid(), timer);
            }
        }
    }

    private static void expire(Injector inj, int pid, Timer timer) throws IOException {
        ITimerKind.write(inj, timer.toBuilder().setValueMicros(1).build());
        long sleep = inj.put(SLEEP_AT, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(0).putLong(SLEEP_NANOS).array());
        for (int i = 0; i < POLLS; i++) {
            // The puppet had nothing pending: the bit is the timer's SIGALRM.
            inj.check("rt_sigpending", Arch.SYS_RT_SIGPENDING, inj.scratch() + SET_AT, 8);
            if ((inj.getLong(SET_AT) & 1L << (SIGALRM - 1)) != 0) {
                return;
            }
            inj.check("nanosleep(100 us)", Arch.SYS_NANOSLEEP, sleep, 0);
        }
        throw new IOException("pid " + pid + ": ITIMER_REAL (interval " + timer.getIntervalMicros()
                + " us) armed to expire in 1 us sent no SIGALRM within a second");
    }
}
