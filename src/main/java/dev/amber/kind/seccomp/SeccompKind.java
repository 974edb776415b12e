package dev.amber.kind.seccomp;

import dev.amber.image.proto.SeccompFilter;
import dev.amber.image.proto.Thread;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TaskHandle;
import dev.amber.proc.ProcStatus;
import dev.amber.trace.Tracee;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * seccomp: each thread's mode (the {@code Seccomp:} line of its /proc status: 0 disabled,
 * 1 strict, 2 filter) and, in filter mode, its chain of filters, each one's classic BPF program
 * (PTRACE_SECCOMP_GET_FILTER) and flags (PTRACE_SECCOMP_GET_METADATA). Filters are shared: a
 * thread or child made by clone gets its creator's chain and may add filters on top. Each filter
 * of the tree is saved once ({@link SeccompChains}) and each thread names its newest.
 *
 * <p>Checkpoint works inside a process under seccomp because the freezer has suspended its
 * filtering (PTRACE_O_SUSPEND_SECCOMP). Restart suspends the puppet's the same way, so that the
 * filters can go in here, while the puppet is still root (installing one needs CAP_SYS_ADMIN or
 * no_new_privs, and the saved credentials may have neither), and the later kinds still work in
 * it; strict mode, which ends every call but read, write, exit and rt_sigreturn, is entered last
 * ({@link SeccompStrictKind}). The filtering starts at the release, when Amber detaches.
 */
public final class SeccompKind implements ProcessKind {
    static final int MODE_DISABLED = 0, MODE_STRICT = 1, MODE_FILTER = 2;
    private static final int CAP_SYS_ADMIN = 21;

    @Override
    public String name() {
        return "seccomp";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        SeccompChains chains = ctx.tree().cached(SeccompChains.class, SeccompChains::new);
        for (int i = 0; i < ctx.tasks().size(); i++) {
            TaskHandle task = ctx.tasks().get(i);
            int mode = ProcStatus.read(ctx.pid(), task.tid()).seccomp();
            String where = task.tid() == ctx.pid() ? "" : "thread " + task.tid();
            if (mode == MODE_DISABLED) {
                continue;
            }
            if (mode != MODE_STRICT && mode != MODE_FILTER) {
                ctx.refuse(where, "seccomp", "mode " + mode + ": unknown to Amber (0, 1 and 2 are known)");
                continue;
            }
            Thread.Builder thread = ctx.threads().get(i).setSeccompMode(mode);
            if (mode == MODE_FILTER) {
                List<Tracee.SeccompProgram> chain = chain(task.tracee());
                String notify = SeccompChains.userNotification(chain);
                if (notify != null) {
                    ctx.refuse(where, "seccomp", notify);
                    continue;
                }
                thread.setSeccompFilter(chains.add(chain, ctx.process()));
            }
        }
    }

    /** The thread's filters, oldest first. */
    private static List<Tracee.SeccompProgram> chain(Tracee t) throws IOException {
        List<Tracee.SeccompProgram> chain = new ArrayList<>();
        for (Tracee.SeccompProgram f; (f = t.seccompFilter(chain.size())) != null; ) {
            chain.add(f);
        }
        return chain;
    }

    /**
     * Why PTRACE_O_SUSPEND_SECCOMP was refused (EPERM), with the remedy, for amber {@code command}:
     * the kernel allows it only to a tracer with CAP_SYS_ADMIN that is itself under no seccomp.
     */
    public static String suspendRefused(String command) {
        int own = 0;
        try {
            own = ProcStatus.read((int) ProcessHandle.current().pid()).seccomp();
        } catch (IOException e) {
            // Taken as none: the capability is then the reason given.
        }
        return own != 0
                ? "which a tracer itself under seccomp may not do (amber runs with Seccomp: " + own + "): run amber "
                        + command + " without seccomp (in a container: --security-opt seccomp=unconfined)"
                : "which needs CAP_SYS_ADMIN: run amber " + command + " as root";
    }

    /**
     * Why {@code p} cannot be restarted by this amber, or null: to work in a puppet under seccomp
     * Amber must suspend it (PTRACE_O_SUSPEND_SECCOMP), which needs CAP_SYS_ADMIN. Checked with
     * the image, before anything is made.
     */
    public static String restartProblem(dev.amber.image.proto.Process p) throws IOException {
        for (Thread t : p.getThreadsList()) {
            if (t.getSeccompMode() != MODE_DISABLED && !maySuspend()) {
                return "pid " + p.getPid() + (t.getTid() == p.getPid() ? "" : " thread " + t.getTid()) + ": seccomp: "
                        + (t.getSeccompMode() == MODE_STRICT ? "strict mode" : "filter mode") + ": Amber must suspend"
                        + " it while it works in the process (PTRACE_O_SUSPEND_SECCOMP), " + suspendRefused("restart");
            }
        }
        return null;
    }

    /** Whether this amber may set PTRACE_O_SUSPEND_SECCOMP: CAP_SYS_ADMIN, and under no seccomp itself. */
    private static boolean maySuspend() throws IOException {
        ProcStatus own = ProcStatus.read((int) ProcessHandle.current().pid());
        return (own.capEff() & (1L << CAP_SYS_ADMIN)) != 0 && own.seccomp() == MODE_DISABLED;
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        if (ctx.process().getThreadsList().stream().allMatch(t -> t.getSeccompMode() == MODE_DISABLED)) {
            return;
        }
        for (TaskHandle task : ctx.tasks()) {
            SeccompInstall.suspend(ctx.pid(), task.tracee());
        }
        List<SeccompFilter> all = new ArrayList<>();
        ctx.tree().processes().forEach(p -> all.addAll(p.getSeccompFiltersList()));
        new SeccompInstall(ctx, all).run();
    }
}
