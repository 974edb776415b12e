package dev.amber.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A thread's CPU affinity, nice value and scheduling policy, read and set from the tool. */
public final class Scheduling {
    private static final int PRIO_PROCESS = 0, MASK_BYTES = 1024;

    public record Policy(int policy, int priority) {}

    private Scheduling() {}

    public static byte[] affinity(int tid) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment mask = a.allocate(MASK_BYTES);
            long n = Syscall.check("sched_getaffinity", "pid " + tid, Arch.SYS_SCHED_GETAFFINITY, tid, MASK_BYTES,
                    mask.address());
            return mask.asSlice(0, n).toArray(JAVA_BYTE);
        }
    }

    public static void setAffinity(int tid, byte[] mask) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(Math.max(8, mask.length));
            MemorySegment.copy(mask, 0, m, JAVA_BYTE, 0, mask.length);
            Syscall.check("sched_setaffinity", "pid " + tid, Arch.SYS_SCHED_SETAFFINITY, tid, mask.length, m.address());
        }
    }

    /** The nice value (-20..19); the raw call returns 20 - nice so that it is never negative. */
    public static int nice(int tid) throws ErrnoException {
        return 20 - (int) Syscall.check("getpriority", "pid " + tid, Arch.SYS_GETPRIORITY, PRIO_PROCESS, tid, 0);
    }

    public static void setNice(int tid, int nice) throws ErrnoException {
        Syscall.check("setpriority", "pid " + tid, Arch.SYS_SETPRIORITY, PRIO_PROCESS, tid, nice);
    }

    public static Policy policy(int tid) throws ErrnoException {
        int policy = (int) Syscall.check("sched_getscheduler", "pid " + tid, Arch.SYS_SCHED_GETSCHEDULER, tid, 0, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment param = a.allocate(JAVA_INT);
            Syscall.check("sched_getparam", "pid " + tid, Arch.SYS_SCHED_GETPARAM, tid, param.address(), 0);
            return new Policy(policy, param.get(JAVA_INT, 0));
        }
    }

    public static void setPolicy(int tid, Policy p) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment param = a.allocate(JAVA_INT);
            param.set(JAVA_INT, 0, p.priority());
            Syscall.check("sched_setscheduler", "pid " + tid, Arch.SYS_SCHED_SETSCHEDULER, tid, p.policy(),
                    param.address());
        }
    }
}
