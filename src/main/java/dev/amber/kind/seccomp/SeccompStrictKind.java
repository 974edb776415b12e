package dev.amber.kind.seccomp;

import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TaskHandle;
import dev.amber.sys.Arch;
import java.io.IOException;

/**
 * seccomp strict mode (saved by {@link SeccompKind}), entered again by the threads that were in
 * it: prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) injected into each, after every other kind. In
 * strict mode every call but read, write, exit and rt_sigreturn kills the thread; the rest of the
 * restart still injects calls (closing Amber's work area, queuing held signals again), which the
 * puppet's suspended seccomp (PTRACE_O_SUSPEND_SECCOMP, set by {@link SeccompKind}) lets through.
 * The release sets the saved registers and detaches, which needs no call in the thread: strict
 * mode then applies to the thread's own next call.
 */
public final class SeccompStrictKind implements ProcessKind {
    private static final int PR_SET_SECCOMP = 22;

    @Override
    public String name() {
        return "seccomp-strict";
    }

    @Override
    public void dump(DumpContext ctx) {
        // Nothing: SeccompKind saves every thread's mode.
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        for (int i = 0; i < ctx.tasks().size(); i++) {
            if (ctx.process().getThreads(i).getSeccompMode() == SeccompKind.MODE_STRICT) {
                TaskHandle task = ctx.tasks().get(i);
                task.injector().check("prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)", Arch.SYS_PRCTL, PR_SET_SECCOMP,
                        SeccompKind.MODE_STRICT, 0, 0, 0);
            }
        }
    }
}
