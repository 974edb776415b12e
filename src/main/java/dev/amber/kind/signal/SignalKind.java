package dev.amber.kind.signal;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.SigAction;
import dev.amber.image.proto.Signals;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import java.io.IOException;

/**
 * Signals: the process's dispositions (one per signal 1..64 but SIGKILL and SIGSTOP) and its
 * process-directed pending signals, plus the leader thread's own signal state
 * ({@link ThreadSignals}: blocked mask, thread-directed pending signals, alternate stack).
 *
 * <p>Restore order inside the kind: dispositions first (setting SIG_IGN discards pending
 * instances), then the pending signals, thread-directed before process-directed as the kernel
 * dequeues them, then the alternate stack. The blocked mask is set by the restart pipeline, last.
 */
public final class SignalKind implements ProcessKind {
    @Override
    public String name() {
        return "signal";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        Signals.Builder signals = Signals.newBuilder().addAllActions(SigActions.read(ctx.injector(),
                caughtOrIgnored(ctx.pid())));
        for (byte[] info : ctx.leader().pendingSignals(true)) {
            signals.addSharedPending(ByteString.copyFrom(info));
        }
        ctx.process().setSignals(signals);
        for (int i = 0; i < ctx.tasks().size(); i++) {
            ThreadSignals.dump(ctx.tasks().get(i).tracee(), ctx.tasks().get(i).injector(), ctx.threads().get(i));
        }
    }

    private static long caughtOrIgnored(int pid) throws IOException {
        var status = dev.amber.proc.ProcStatus.read(pid);
        return status.sigCgt() | status.sigIgn();
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        Signals signals = ctx.process().getSignals();
        for (SigAction action : signals.getActionsList()) {
            if (SigActions.settable(action.getSigno())) {
                SigActions.write(ctx.injector(), action);
            }
        }
        boolean stopped = ctx.process().getStopped();
        for (int i = 0; i < ctx.tasks().size(); i++) {
            ThreadSignals.restore(ctx.tasks().get(i).injector(), ctx.process().getThreads(i), stopped);
        }
        if (signals.getSharedPendingCount() > 0) {
            long tgid = ctx.injector().check("getpid", Arch.SYS_GETPID);
            for (ByteString info : signals.getSharedPendingList()) {
                if (!Siginfo.leftForRelease(info.toByteArray(), stopped)) {
                    Siginfo.queueShared(ctx.injector(), info.toByteArray(), tgid);
                }
            }
        }
    }

    /**
     * The stop signal the restart sends a restored process just before letting it go, or 0:
     * the one that had stopped it (SIGSTOP in images that do not say), or SIGSTOP when one was
     * pending in a process not yet stopped by it (the injected calls could not queue it), or,
     * with {@code frozen}, SIGSTOP for any process.
     */
    public static int stopAtRelease(Process p, boolean frozen) {
        if (p.getStopped()) {
            return p.getStopSignal() != 0 ? p.getStopSignal() : SigActions.SIGSTOP;
        }
        boolean pendingStop = p.getSignals().getSharedPendingList().stream()
                .anyMatch(i -> Siginfo.signo(i.toByteArray()) == SigActions.SIGSTOP)
                || p.getThreadsList().stream().flatMap(t -> t.getPendingList().stream())
                .anyMatch(i -> Siginfo.signo(i.toByteArray()) == SigActions.SIGSTOP);
        return frozen || pendingStop ? SigActions.SIGSTOP : 0;
    }
}
