package dev.amber.kind.timer;

import dev.amber.sys.Arch;
import dev.amber.image.proto.PosixTimer;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Errno;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * POSIX timers (timer_create(2)): the fields of {@code /proc/PID/timers} ({@link PosixTimers}),
 * plus the remaining time and interval (timer_gettime) and the overrun count (timer_getoverrun),
 * run inside the process. {@code struct itimerspec} and the x86-64 {@code struct sigevent}:
 *
 * <pre>
 * itimerspec:  0 i64 it_interval.tv_sec   8 i64 it_interval.tv_nsec
 *             16 i64 it_value.tv_sec     24 i64 it_value.tv_nsec       (value 0: disarmed)
 * sigevent:    0 u64 sigev_value   8 i32 sigev_signo   12 i32 sigev_notify   16 i32 tid   (64 bytes)
 * </pre>
 *
 * Ids are not "lowest free": each process counts up (measured on 6.18: create 0, 1, 2, delete 1,
 * the next is 3). Since Linux 6.15 prctl(PR_TIMER_CREATE_RESTORE_IDS) makes timer_create take
 * the id in {@code *timerid} (EBUSY if taken), which restore uses; on older kernels a fresh
 * puppet counts from 0, so timers created below a saved id are kept as fillers and deleted at the
 * end. Either way the id the kernel gave is checked. A timer is armed with its remaining time, relative: an absolute
 * CLOCK_REALTIME timer becomes relative; one whose signal is queued and not yet delivered is made
 * to expire again at once ({@link QueuedTimerSignal}). The overrun count is saved but cannot be
 * set again.
 */
final class PosixTimerKind implements ProcessKind {
    
    private static final int PR_TIMER_CREATE_RESTORE_IDS = 77, CLOCK_THREAD_CPUTIME_ID = 3;
    private static final int SPEC = 32, SIGEVENT = 64, SPEC_AT = 128, SIGEVENT_AT = SPEC_AT + SPEC,
            ID_AT = SIGEVENT_AT + SIGEVENT;
    private static final long NANOS = 1_000_000_000;

    @Override
    public String name() {
        return "posix-timer";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        Injector inj = ctx.injector();
        for (PosixTimer.Builder t : PosixTimers.read(ctx.pid())) {
            if (t.getClockid() == CLOCK_THREAD_CPUTIME_ID && ctx.tasks().size() > 1) {
                ctx.refuse("timer " + t.getId(), "POSIX timer on CLOCK_THREAD_CPUTIME_ID",
                        "it measures the thread that created it, which /proc/PID/timers does not name");
                continue;
            }
            inj.check("timer_gettime(" + t.getId() + ")", Arch.SYS_TIMER_GETTIME, t.getId(), inj.scratch() + SPEC_AT);
            ByteBuffer b = ByteBuffer.wrap(inj.get(SPEC_AT, SPEC)).order(ByteOrder.LITTLE_ENDIAN);
            t.setIntervalNanos(b.getLong(0) * NANOS + b.getLong(8)).setValueNanos(b.getLong(16) * NANOS + b.getLong(24));
            t.setOverrun((int) inj.check("timer_getoverrun(" + t.getId() + ")", Arch.SYS_TIMER_GETOVERRUN, t.getId()));
            // After timer_gettime: a signal queued in between is then seen here, and the timer
            // is restored expired, not armed for the remaining time as well.
            int queue = QueuedTimerSignal.queue(ctx.tasks(), t.getId());
            if (queue != QueuedTimerSignal.NONE) {
                t.setSignalQueued(true);
                QueuedTimerSignal.unsave(ctx.process(), ctx.threads(), ctx.tasks(), queue, t.getId());
            }
            ctx.process().addPosixTimers(t);
        }
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        List<PosixTimer> timers = ctx.process().getPosixTimersList();
        if (timers.isEmpty()) {
            return;
        }
        Injector inj = ctx.injector();
        long on = inj.call(Arch.SYS_PRCTL, PR_TIMER_CREATE_RESTORE_IDS, 1);
        if (on != 0 && on != -Errno.EINVAL) {
            inj.check("prctl(PR_TIMER_CREATE_RESTORE_IDS, on)", Arch.SYS_PRCTL, PR_TIMER_CREATE_RESTORE_IDS, 1);
        }
        List<Integer> fillers = new ArrayList<>();
        for (PosixTimer t : timers) {
            int id = create(inj, t, t.getId());
            while (on != 0 && id < t.getId()) {
                fillers.add(id);   // disarmed, deleted at the end: ids are never handed out twice meanwhile
                id = create(inj, t, t.getId());
            }
            if (id != t.getId()) {
                throw new IOException("pid " + ctx.pid() + " timer " + t.getId() + ": timer_create gave id " + id
                        + ", expected " + t.getId() + (on == 0 ? "" : " (a kernel without PR_TIMER_CREATE_RESTORE_IDS,"
                        + " before 6.15, hands ids out in order and cannot go back)"));
            }
            if (t.getSignalQueued()) {
                arm(inj, t.toBuilder().setValueNanos(1).build());
                QueuedTimerSignal.await(inj, ctx.tasks(), ctx.pid(), t);
            } else if (t.getValueNanos() != 0) {
                arm(inj, t);
            }
        }
        for (int filler : fillers) {
            inj.check("timer_delete(filler " + filler + ")", Arch.SYS_TIMER_DELETE, filler);
        }
        if (on == 0) {
            inj.check("prctl(PR_TIMER_CREATE_RESTORE_IDS, off)", Arch.SYS_PRCTL, PR_TIMER_CREATE_RESTORE_IDS, 0);
        }
    }

    /** timer_create; in PR_TIMER_CREATE_RESTORE_IDS mode {@code want} is the id asked for. Returns the id given. */
    private static int create(Injector inj, PosixTimer t, int want) throws IOException {
        ByteBuffer e = ByteBuffer.allocate(SIGEVENT).order(ByteOrder.LITTLE_ENDIAN);
        e.putLong(0, t.getSigevValue()).putInt(8, t.getSignal()).putInt(12, t.getNotify()).putInt(16, t.getTid());
        long sigevent = inj.put(SIGEVENT_AT, e.array());
        long id = inj.put(ID_AT, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(want).array());
        inj.check("timer_create(id " + want + ", clock " + t.getClockid() + ", signal " + t.getSignal() + ", notify "
                + t.getNotify() + ", tid " + t.getTid() + ")", Arch.SYS_TIMER_CREATE, t.getClockid(), sigevent, id);
        return ByteBuffer.wrap(inj.get(ID_AT, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    private static void arm(Injector inj, PosixTimer t) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(SPEC).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(t.getIntervalNanos() / NANOS).putLong(t.getIntervalNanos() % NANOS)
                .putLong(t.getValueNanos() / NANOS).putLong(t.getValueNanos() % NANOS);
        long at = inj.put(SPEC_AT, b.array());
        inj.check("timer_settime(" + t.getId() + ", value " + t.getValueNanos() + " ns, interval "
                + t.getIntervalNanos() + " ns)", Arch.SYS_TIMER_SETTIME, t.getId(), 0, at, 0);
    }
}
