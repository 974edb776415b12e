package dev.amber.trace;

import dev.amber.sys.Arch;
import java.util.Set;

/**
 * What the kernel does to a task's registers when it returns to user space after a system call
 * was interrupted and no signal handler runs (arch_do_signal_or_restart): the call is run again.
 * A task seized inside a call shows {@code orig_rax} = the call and {@code rax} = one of these.
 *
 * <p>A few calls return plain -EINTR whenever anything makes the task look at its signals, the
 * tracer's PTRACE_INTERRUPT included: rt_sigtimedwait (sigwaitinfo), epoll_wait and epoll_pwait
 * (do_sigtimedwait, ep_poll). When no signal actually arrived, that EINTR was Amber's doing and
 * the call is run again, so neither the running process nor the restored one sees it.
 */
public final class SyscallRestart {
    public static final long ERESTARTSYS = -512, ERESTARTNOINTR = -513, ERESTARTNOHAND = -514,
            ERESTART_RESTARTBLOCK = -516, EINTR = -4;
    private static final Set<Long> EINTR_WHEN_STOPPED = Set.of(128L, 232L, 281L, 441L);

    private SyscallRestart() {}

    /**
     * The call the task was in, or -1 when it was not stopped inside one that should run again.
     * {@code signalArrived}: a signal was taken off the task while Amber held it (an EINTR is
     * then the signal's, and stays).
     */
    public static long interruptedCall(Regs r, boolean signalArrived) {
        long rax = r.get(Arch.RAX);
        long nr = r.get(Arch.ORIG_RAX);
        if (nr < 0) {
            return -1;
        }
        boolean restarting = rax == ERESTARTSYS || rax == ERESTARTNOINTR || rax == ERESTARTNOHAND
                || rax == ERESTART_RESTARTBLOCK;
        boolean ours = rax == EINTR && !signalArrived && EINTR_WHEN_STOPPED.contains(nr);
        return restarting || ours ? nr : -1;
    }

    /**
     * The registers with which the task, resumed from any ptrace-stop, carries on exactly as the
     * kernel would have: the call is re-entered ({@code restart_syscall} for a call that left a
     * restart block, which this same task still has).
     */
    public static Regs forResume(Regs r, boolean signalArrived) {
        if (interruptedCall(r, signalArrived) < 0) {
            return r.with(Arch.ORIG_RAX, -1);
        }
        long nr = r.get(Arch.RAX) == ERESTART_RESTARTBLOCK ? Arch.SYS_RESTART_SYSCALL : r.get(Arch.ORIG_RAX);
        return rerun(r, nr);
    }

    /** Points the task back at its {@code syscall} instruction with {@code nr} in rax. */
    public static Regs rerun(Regs r, long nr) {
        return r.with(Arch.RAX, nr).with(Arch.RIP, r.get(Arch.RIP) - Arch.SYSCALL_INSN.length).with(Arch.ORIG_RAX, -1);
    }
}
