package dev.amber.sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Per-task kernel resources the tool reads about another task from outside it, as plain Java
 * values: its robust futex list and its resource limits. Calls that must run inside the task
 * (most setters) go through the injector instead and need no native memory here.
 */
public final class Resources {
    /** {@code RLIM_INFINITY}: all 64 bits set. */
    public static final long RLIM_INFINITY = -1L;

    private Resources() {}

    /** The head of a task's robust futex list and its length ({@code sizeof(struct robust_list_head)}). */
    public record RobustList(long head, long length) {}

    /** A soft and a hard limit; {@link #RLIM_INFINITY} for none. */
    public record Rlimit(long soft, long hard) {}

    /**
     * get_robust_list(2) for {@code tid}: allowed to a tracer (ptrace read access). A task that
     * never registered one reports head 0.
     */
    public static RobustList robustList(int tid) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment head = arena.allocate(JAVA_LONG);
            MemorySegment len = arena.allocate(JAVA_LONG);
            Syscall.check("get_robust_list", "pid " + tid, Arch.SYS_GET_ROBUST_LIST, tid, head.address(), len.address());
            return new RobustList(head.get(JAVA_LONG, 0), len.get(JAVA_LONG, 0));
        }
    }

    /**
     * prlimit64(2) read of one limit of {@code pid}. The kernel allows it only when the caller's
     * real, effective and saved ids all equal the target's real uid and gid, or with
     * CAP_SYS_RESOURCE: a root tool without that capability gets EPERM for a process that changed
     * its uid, so dumps read limits from inside the process instead.
     */
    public static Rlimit rlimit(int pid, int resource) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment old = arena.allocate(16, 8);
            Syscall.check("prlimit64", "pid " + pid + " resource " + resource,
                    Arch.SYS_PRLIMIT64, pid, resource, 0, old.address());
            return new Rlimit(old.get(JAVA_LONG, 0), old.get(JAVA_LONG, 8));
        }
    }
}
