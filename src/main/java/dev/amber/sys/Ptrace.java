package dev.amber.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ptrace(2) and wait4(2). Every method must be called from the one thread that attached (the
 * kernel answers ESRCH to any other); {@code trace.Tracer} guarantees that.
 */
public final class Ptrace {
    public static final int TRACEME = 0, PEEKDATA = 2, CONT = 7, KILL = 8, DETACH = 17, SYSCALL = 24,
            SETOPTIONS = 0x4200, GETEVENTMSG = 0x4201, GETSIGINFO = 0x4202, GETREGSET = 0x4204,
            SETREGSET = 0x4205, SEIZE = 0x4206, INTERRUPT = 0x4207, LISTEN = 0x4208, PEEKSIGINFO = 0x4209,
            GETSIGMASK = 0x420a, SETSIGMASK = 0x420b, SECCOMP_GET_FILTER = 0x420c, SECCOMP_GET_METADATA = 0x420d,
            GET_RSEQ_CONFIGURATION = 0x420f;
    public static final int GETREGS = 12, SETREGS = 13;

    public static final int O_TRACESYSGOOD = 1, O_TRACEFORK = 1 << 1, O_TRACEVFORK = 1 << 2,
            O_TRACECLONE = 1 << 3, O_TRACEEXEC = 1 << 4, O_EXITKILL = 1 << 20, O_SUSPEND_SECCOMP = 1 << 21;
    public static final int EVENT_FORK = 1, EVENT_VFORK = 2, EVENT_CLONE = 3, EVENT_EXEC = 4, EVENT_STOP = 128;

    public static final int NT_PRSTATUS = 1, NT_PRFPREG = 2, NT_X86_XSTATE = 0x202;
    public static final int PEEKSIGINFO_SHARED = 1;

    public static final int WALL = 0x40000000, WNOHANG = 1;

    private Ptrace() {}

    public static long call(int request, int pid, long addr, long data) {
        return Syscall.raw(Arch.SYS_PTRACE, request, pid, addr, data);
    }

    public static void check(String name, int request, int pid, long addr, long data) throws ErrnoException {
        ErrnoException.check(call(request, pid, addr, data), name, "pid " + pid);
    }

    /**
     * wait4(pid, &status, __WALL, NULL) for one task, never -1 (that would take other
     * children's events). Returns the raw status, or throws.
     */
    public static int waitFor(int pid, int options) throws ErrnoException {
        MemorySegment status = STATUS.get();
        while (true) {
            long r = Syscall.raw(Arch.SYS_WAIT4, pid, status.address(), WALL | options, 0);
            if (r == -Errno.EINTR) {
                continue;
            }
            ErrnoException.check(r, "wait4", "pid " + pid);
            return r == 0 ? -1 : status.get(ValueLayout.JAVA_INT, 0);
        }
    }

    private static final ThreadLocal<MemorySegment> STATUS =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(8, 8));

    // Decoding of wait status words (bits/waitstatus.h).
    public static boolean exited(int status) {
        return (status & 0x7f) == 0;
    }

    public static int exitCode(int status) {
        return (status >> 8) & 0xff;
    }

    public static boolean signaled(int status) {
        return ((status & 0x7f) + 1) >> 1 > 0 && (status & 0xff) != 0x7f;
    }

    public static int termSig(int status) {
        return status & 0x7f;
    }

    public static boolean stopped(int status) {
        return (status & 0xff) == 0x7f;
    }

    public static int stopSig(int status) {
        return (status >> 8) & 0xff;
    }

    public static int event(int status) {
        return status >>> 16;
    }
}
