package dev.amber.kind.signal;

import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;

/**
 * A saved {@code siginfo_t} (128 bytes, as PTRACE_PEEKSIGINFO returns it) queued again with its
 * exact contents: code, sender and value. rt_sigqueueinfo(2) and rt_tgsigqueueinfo(2) refuse
 * si_code &gt;= 0 or SI_TKILL from another process (EPERM), but a task sending to itself may use
 * any si_code, so the calls run inside the restored task.
 *
 * <pre>
 *  0  i32 si_signo
 *  4  i32 si_errno
 *  8  i32 si_code
 * 16  ...  union: pid, uid, value / timer / fault fields, as the code says
 * </pre>
 */
final class Siginfo {
    private static final int SCRATCH_AT = 256;

    private Siginfo() {}

    private static final int SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22;

    /**
     * Whether a saved pending signal is left out of what the injected calls queue. SIGSTOP
     * cannot be blocked: queued in a puppet it would stop the next injected call, so the release
     * sends it ({@link SignalKind#stopAtRelease}). In a process stopped by a signal every pending
     * stop signal is left out: the SIGCONT that ends the stop discards them all
     * (kernel/signal.c prepare_signal, SIG_KERNEL_STOP_MASK), so none can ever be delivered.
     */
    static boolean leftForRelease(byte[] info, boolean stopped) {
        int signo = signo(info);
        return signo == SIGSTOP || stopped && (signo == SIGTSTP || signo == SIGTTIN || signo == SIGTTOU);
    }

    static int signo(byte[] info) {
        return (info[0] & 0xff) | (info[1] & 0xff) << 8 | (info[2] & 0xff) << 16 | (info[3] & 0xff) << 24;
    }

    /** Queues {@code info} on thread {@code tid} of {@code tgid} (thread-directed). */
    static void queue(Injector injector, byte[] info, long tgid, long tid) throws IOException {
        int signo = signo(info);
        long at = injector.put(SCRATCH_AT, info);
        injector.check("rt_tgsigqueueinfo(signal " + signo + ")", Arch.SYS_RT_TGSIGQUEUEINFO, tgid, tid, signo, at);
    }

    /** Queues {@code info} on process {@code tgid} (process-directed, shared by its threads). */
    static void queueShared(Injector injector, byte[] info, long tgid) throws IOException {
        int signo = signo(info);
        long at = injector.put(SCRATCH_AT, info);
        injector.check("rt_sigqueueinfo(signal " + signo + ")", Arch.SYS_RT_SIGQUEUEINFO, tgid, signo, at);
    }
}
