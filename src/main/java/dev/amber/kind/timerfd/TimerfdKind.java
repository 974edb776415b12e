package dev.amber.kind.timerfd;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Timerfd;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * timerfd_create(2): its clock, what remains until the next expiry, its interval, its settime
 * flags and the expirations not yet read. fdinfo shows (Linux 3.17 onwards):
 *
 * <pre>
 * flags:	02004002           O_RDWR | O_NONBLOCK | O_CLOEXEC, octal
 * clockid: 1
 * ticks: 0                          expirations not yet read
 * settime flags: 03                 octal: TFD_TIMER_ABSTIME 1, TFD_TIMER_CANCEL_ON_SET 2
 * it_value: (1, 997323642)          remaining (sec, nsec); (0, 0) when disarmed
 * it_interval: (1, 0)
 * </pre>
 *
 * A periodic timer that expired is not re-armed by the kernel until it is read or
 * timerfd_gettime'd: until then fdinfo shows it_value (0, 0) and one tick for any number of
 * missed periods. So the dump first injects timerfd_gettime, which forwards the timer and adds
 * the missed periods to the ticks, and then reads fdinfo. The timer keeps running while the
 * process is stopped, so the ticks are read on both sides of the gettime that gives the saved
 * value, and the reading is repeated if an expiry fell in between.
 *
 * <p>Restored as a relative timer with the saved remaining time (the downtime does not count,
 * as for interval timers), except absolute timers whose expiry is still ahead on the restoring
 * machine's clock: those keep their expiry. Unread expirations are put back with
 * TFD_IOC_SET_TICKS (Linux 4.11, CONFIG_CHECKPOINT_RESTORE).
 */
public final class TimerfdKind implements FdKind {
    // x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
    
    /** _IOW('T', 0, u64). */
    private static final long TFD_IOC_SET_TICKS = 0x4008_5400L;
    private static final int TFD_TIMER_ABSTIME = 1, O_NONBLOCK = 04000;
    private static final int CLOCK_MONOTONIC = 1, CLOCK_BOOTTIME = 7, CLOCK_BOOTTIME_ALARM = 9;
    private static final long NANOS = 1_000_000_000L;
    /** Readings of a timer that expires faster than one dump can take are given up after this many. */
    private static final int ATTEMPTS = 5;
    private static final int SPEC = 0, WORD = 64;  // scratch offsets: struct itimerspec, one u64 or timespec

    /** The saved fields of fdinfo: what timerfd_gettime does not tell. */
    record Info(int clockid, long ticks, int settimeFlags) {
        static Info parse(int pid, int fd, FdInfo info) throws IOException {
            return new Info(Integer.parseInt(one(pid, fd, info, "clockid")),
                    Long.parseUnsignedLong(one(pid, fd, info, "ticks")),
                    Integer.parseInt(one(pid, fd, info, "settime flags"), 8));
        }

        private static String one(int pid, int fd, FdInfo info, String label) throws IOException {
            var values = info.values(label);
            if (values.size() != 1 || !values.getFirst().matches("[0-9]+")) {
                throw new IOException("pid " + pid + " fd " + fd + ": timerfd: expected one numeric '" + label
                        + ":' line in fdinfo, found " + values + " (Linux 3.17 onwards prints it)");
            }
            return values.getFirst();
        }
    }

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.TIMERFD;
    }

    @Override
    public boolean handles(String target) {
        return target.equals("anon_inode:[timerfd]");
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        Injector inj = ctx.injector();
        String what = "fd " + fd + " timerfd";
        gettime(inj, fd, what);  // forwards a periodic timer that expired; its value is not used
        Info before = Info.parse(ctx.pid(), fd, FdInfo.read(ctx.pid(), fd));
        for (int attempt = 1; ; attempt++) {
            // The clock first: now + remaining is then at most a few microseconds early, never late.
            long now = clock(inj, before.clockid(), what);
            long[] spec = gettime(inj, fd, what);
            Info after = Info.parse(ctx.pid(), fd, FdInfo.read(ctx.pid(), fd));
            if (after.ticks() == before.ticks() || attempt == ATTEMPTS) {
                Timerfd.Builder t = Timerfd.newBuilder()
                        .setClockid(after.clockid())
                        .setFlags(info.flags())
                        .setSettimeFlags(after.settimeFlags())
                        .setValueNanos(spec[1])
                        .setIntervalNanos(spec[0])
                        .setTicks(after.ticks());
                if ((after.settimeFlags() & TFD_TIMER_ABSTIME) != 0 && spec[1] != 0) {
                    t.setExpiryNanos(now + spec[1]);
                }
                d.setTimerfd(t);
                return;
            }
            before = after;  // it expired in between: read again
        }
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        Timerfd t = d.getTimerfd();
        String what = "fd " + d.getFd() + " timerfd (clock " + t.getClockid() + ")";
        long fd = inj.check("timerfd_create " + what, Arch.SYS_TIMERFD_CREATE, t.getClockid(),
                t.getFlags() & O_NONBLOCK);
        if (t.getValueNanos() != 0 || t.getIntervalNanos() != 0 || t.getSettimeFlags() != 0) {
            // A disarmed timer is set too when it has an interval or flags, so timerfd_gettime and
            // fdinfo show them again.
            long value = t.getValueNanos();
            if ((t.getSettimeFlags() & TFD_TIMER_ABSTIME) != 0 && value != 0) {
                value = absoluteExpiry(t, clock(inj, t.getClockid(), what));
            }
            inj.put(SPEC, itimerspec(t.getIntervalNanos(), value));
            inj.check("timerfd_settime " + what, Arch.SYS_TIMERFD_SETTIME, fd, t.getSettimeFlags(),
                    inj.scratch() + SPEC, 0);
        }
        if (t.getTicks() != 0) {
            // After settime, which zeroes the ticks. The next read returns them (and poll says readable).
            byte[] ticks = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(t.getTicks()).array();
            inj.check("ioctl(TFD_IOC_SET_TICKS, " + Long.toUnsignedString(t.getTicks()) + ") " + what
                    + " (needs a kernel with CONFIG_CHECKPOINT_RESTORE)", Arch.SYS_IOCTL, fd, TFD_IOC_SET_TICKS,
                    inj.put(WORD, ticks));
        }
        return fd;
    }

    /**
     * The expiry to set on an absolute timer, the clock reading {@code now}: the saved one while it
     * is ahead, else now + the saved remaining time (it would have expired during the downtime,
     * which does not count). A monotonic or boot clock that is behind the saved expiry by more
     * than the remaining time has started again (another boot): the saved expiry means nothing.
     */
    static long absoluteExpiry(Timerfd t, long now) {
        long expiry = t.getExpiryNanos();
        boolean restarted = (t.getClockid() == CLOCK_MONOTONIC || t.getClockid() == CLOCK_BOOTTIME
                || t.getClockid() == CLOCK_BOOTTIME_ALARM) && expiry - now > t.getValueNanos();
        return expiry > now && !restarted ? expiry : now + t.getValueNanos();
    }

    /** timerfd_gettime: {interval, value} in nanoseconds. */
    private static long[] gettime(Injector inj, int fd, String what) throws IOException {
        inj.check("timerfd_gettime " + what, Arch.SYS_TIMERFD_GETTIME, fd, inj.scratch() + SPEC);
        ByteBuffer b = ByteBuffer.wrap(inj.get(SPEC, 32)).order(ByteOrder.LITTLE_ENDIAN);
        return new long[] {b.getLong() * NANOS + b.getLong(), b.getLong() * NANOS + b.getLong()};
    }

    /** clock_gettime in the process itself, which sees its time namespace's offsets. */
    private static long clock(Injector inj, int clockid, String what) throws IOException {
        inj.check("clock_gettime(" + clockid + ") for " + what, Arch.SYS_CLOCK_GETTIME, clockid, inj.scratch() + WORD);
        ByteBuffer b = ByteBuffer.wrap(inj.get(WORD, 16)).order(ByteOrder.LITTLE_ENDIAN);
        return b.getLong() * NANOS + b.getLong();
    }

    /**
     * <pre>
     * struct itimerspec { struct timespec it_interval, it_value; }   timespec: { s64 sec, s64 nsec }
     * </pre>
     */
    private static byte[] itimerspec(long interval, long value) {
        return ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(interval / NANOS).putLong(interval % NANOS)
                .putLong(value / NANOS).putLong(value % NANOS).array();
    }
}
