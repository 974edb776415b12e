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
import java.util.List;

/**
 * Interval timers (setitimer(2)): ITIMER_REAL (wall clock, SIGALRM), ITIMER_VIRTUAL (user CPU
 * time, SIGVTALRM) and ITIMER_PROF (user and system CPU time, SIGPROF). They belong to the
 * process, not a thread, and are read with getitimer(2) run inside it. {@code struct itimerval}:
 *
 * <pre>
 *  0  i64 it_interval.tv_sec    8  i64 it_interval.tv_usec
 * 16  i64 it_value.tv_sec      24  i64 it_value.tv_usec     (value 0: disarmed)
 * </pre>
 *
 * ITIMER_REAL keeps counting while the process is checkpointed; the restored one fires after the
 * remaining time saved, not the time since. A periodic ITIMER_REAL that expired with its SIGALRM
 * not yet dequeued reads value 0 with its interval: {@link ExpiredAlarmKind} restores it, early. The kernel adds one tick (4 ms at HZ 250) to a
 * CPU-time timer it arms so it never fires early, and getitimer reports that tick: each
 * checkpoint/restart of an armed ITIMER_VIRTUAL or ITIMER_PROF lengthens it by one tick. POSIX
 * timers (timer_create) are saved and restored here too, after the interval timers
 * ({@link PosixTimerKind}): this kind runs last, after signals and threads, which their signals
 * and SIGEV_THREAD_ID targets need.
 */
public final class ITimerKind implements ProcessKind {
    static final int ITIMER_REAL = 0, ITIMER_VIRTUAL = 1, ITIMER_PROF = 2;
    private static final int SIZE = 32, OLD_AT = 0, NEW_AT = SIZE;
    private static final long MICROS = 1_000_000;
    private final PosixTimerKind posixTimers = new PosixTimerKind();

    @Override
    public String name() {
        return "itimer";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        for (int which : List.of(ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF)) {
            ctx.process().addItimers(read(ctx.injector(), which));
        }
        posixTimers.dump(ctx);
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        for (Timer timer : ctx.process().getItimersList()) {
            if (ExpiredAlarmKind.expired(timer)) {
                continue;   // restored by ExpiredAlarmKind, before the signals
            }
            if (timer.getValueMicros() != 0 || timer.getIntervalMicros() != 0) {
                // A new task's timers are disarmed. A CPU-time timer set with value 0 keeps the
                // interval it was given (getitimer shows it), so that is set again too.
                write(ctx.injector(), timer);
            }
        }
        posixTimers.restore(ctx);
    }

    static Timer read(Injector injector, int which) throws IOException {
        injector.check("getitimer(" + which + ")", Arch.SYS_GETITIMER, which, injector.scratch() + OLD_AT);
        ByteBuffer b = ByteBuffer.wrap(injector.get(OLD_AT, SIZE)).order(ByteOrder.LITTLE_ENDIAN);
        return Timer.newBuilder().setWhich(which)
                .setIntervalMicros(b.getLong(0) * MICROS + b.getLong(8))
                .setValueMicros(b.getLong(16) * MICROS + b.getLong(24)).build();
    }

    static void write(Injector injector, Timer timer) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(timer.getIntervalMicros() / MICROS).putLong(timer.getIntervalMicros() % MICROS)
                .putLong(timer.getValueMicros() / MICROS).putLong(timer.getValueMicros() % MICROS);
        long at = injector.put(NEW_AT, b.array());
        injector.check("setitimer(" + timer.getWhich() + ", value " + timer.getValueMicros() + " us, interval "
                + timer.getIntervalMicros() + " us)", Arch.SYS_SETITIMER, timer.getWhich(), at, 0);
    }
}
