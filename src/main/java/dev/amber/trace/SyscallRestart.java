package dev.amber.trace;

import dev.amber.sys.Arch;

/**
 * What the kernel does to a task's registers when it returns to user space after a system call
 * was interrupted and no signal handler runs (arch_do_signal_or_restart): the call is run again.
 * A task seized inside a call shows {@code orig_rax} = the call and {@code rax} = one of these.
 */
public final class SyscallRestart {
    public static final long ERESTARTSYS = -512, ERESTARTNOINTR = -513, ERESTARTNOHAND = -514,
            ERESTART_RESTARTBLOCK = -516;

    private SyscallRestart() {}

    /** The call the task was in, or -1 when it was not stopped inside one that will restart. */
    public static long interruptedCall(Regs r) {
        long rax = r.get(Arch.RAX);
        boolean restarting = rax == ERESTARTSYS || rax == ERESTARTNOINTR || rax == ERESTARTNOHAND
                || rax == ERESTART_RESTARTBLOCK;
        return r.get(Arch.ORIG_RAX) >= 0 && restarting ? r.get(Arch.ORIG_RAX) : -1;
    }

    /**
     * The registers with which the task, resumed from any ptrace-stop, carries on exactly as the
     * kernel would have: the call is re-entered ({@code restart_syscall} for a call that left a
     * restart block, which this same task still has).
     */
    public static Regs forResume(Regs r) {
        if (interruptedCall(r) < 0) {
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
