package dev.amber.kind.signal;

import dev.amber.image.proto.SigAction;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Signal dispositions, read and set with rt_sigaction(2) run inside the task. The kernel's own
 * {@code struct sigaction} (not glibc's, whose mask is 128 bytes) on x86-64:
 *
 * <pre>
 *  0  u64 sa_handler     SIG_DFL 0, SIG_IGN 1, or the handler's address
 *  8  u64 sa_flags       SA_SIGINFO, SA_RESTART, SA_ONSTACK, SA_RESTORER, ...
 * 16  u64 sa_restorer    glibc's __restore_rt: the handler returns into it
 * 24  u64 sa_mask        sigsetsize 8: bit n-1 is signal n
 * </pre>
 *
 * Signals 32 and 33, which glibc keeps for itself and refuses in sigaction(3), are ordinary to
 * the kernel and saved like the rest. SIGKILL and SIGSTOP cannot be changed and are skipped.
 */
final class SigActions {
    static final int SIGKILL = 9, SIGSTOP = 19, SIGCHLD = 17, NSIG = 64;
    private static final int SIZE = 32, OLD_AT = 0, NEW_AT = SIZE, SIGSETSIZE = 8;

    private SigActions() {}

    static boolean settable(int signo) {
        return signo != SIGKILL && signo != SIGSTOP;
    }

    /**
     * Every settable signal's action, 1..64 in order. Only signals that are caught or ignored
     * ({@code SigCgt}/{@code SigIgn} of /proc/PID/status) and SIGCHLD (whose SA_NOCLDSTOP and
     * SA_NOCLDWAIT count even at SIG_DFL) are asked; the rest are SIG_DFL, whose flags and mask
     * have no effect, and are recorded as plain SIG_DFL. A process that catches nothing costs one
     * call instead of 62.
     */
    static List<SigAction> read(Injector injector, long caughtOrIgnored) throws IOException {
        List<SigAction> actions = new ArrayList<>(NSIG - 2);
        long old = injector.scratch() + OLD_AT;
        for (int signo = 1; signo <= NSIG; signo++) {
            if (!settable(signo)) {
                continue;
            }
            if (signo != SIGCHLD && (caughtOrIgnored & (1L << (signo - 1))) == 0) {
                actions.add(SigAction.newBuilder().setSigno(signo).build());
                continue;
            }
            injector.check("rt_sigaction(" + signo + ", NULL, &old)", Arch.SYS_RT_SIGACTION, signo, 0, old, SIGSETSIZE);
            ByteBuffer b = ByteBuffer.wrap(injector.get(OLD_AT, SIZE)).order(ByteOrder.LITTLE_ENDIAN);
            actions.add(SigAction.newBuilder().setSigno(signo).setHandler(b.getLong(0)).setFlags(b.getLong(8))
                    .setRestorer(b.getLong(16)).setMask(b.getLong(24)).build());
        }
        return actions;
    }

    /**
     * Sets {@code action} in the task. Set before pending signals are queued again: making a
     * signal SIG_IGN (or SIG_DFL with an ignoring default) discards its pending instances.
     */
    static void write(Injector injector, SigAction action) throws IOException {
        if (action.getHandler() == 0 && action.getFlags() == 0 && action.getMask() == 0) {
            return;   // plain SIG_DFL: what a puppet starts with
        }
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(action.getHandler()).putLong(action.getFlags()).putLong(action.getRestorer()).putLong(action.getMask());
        long act = injector.put(NEW_AT, b.array());
        injector.check("rt_sigaction(" + action.getSigno() + ", &act, NULL)", Arch.SYS_RT_SIGACTION,
                action.getSigno(), act, 0, SIGSETSIZE);
    }
}
