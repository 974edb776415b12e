package dev.amber.kind.creds;

import dev.amber.image.proto.Credentials;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.ProcStatus;
import dev.amber.sys.Arch;
import java.io.IOException;
import java.util.Arrays;

/**
 * Credentials: the real, effective, saved and filesystem uids and gids, the supplementary
 * groups, the five capability sets and no_new_privs (all from {@code /proc/PID/status}), and the
 * securebits (prctl(PR_GET_SECUREBITS) run inside the process, which is the only way to read them).
 * They belong to each thread: a thread whose credentials differ from its process's has its own record.
 *
 * <p>Restore is the last privileged step of a task: after it the puppet may no longer be allowed
 * to map, open or change what the other kinds need. It runs in {@link CredentialsRestore}.
 */
public final class CredentialsKind implements ProcessKind {
    @Override
    public String name() {
        return "credentials";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        ProcStatus s = ProcStatus.read(ctx.pid());
        Credentials process = read(s, ctx.injector());
        ctx.process().setCredentials(process);
        // Credentials belong to each thread; glibc keeps them equal in all (setxid broadcast), raw
        // system calls do not: a thread whose own differ gets a record of its own.
        for (int i = 1; i < ctx.tasks().size(); i++) {
            var task = ctx.tasks().get(i);
            Credentials thread = read(ProcStatus.read(ctx.pid(), task.tid()), task.injector());
            if (!thread.equals(process)) {
                ctx.threads().get(i).setCredentials(thread);
            }
        }
    }

    /** One thread's credentials: its status, and securebits from prctl run in that thread. */
    private static Credentials read(ProcStatus s, dev.amber.trace.Injector injector) throws IOException {
        long securebits = injector.check("prctl(PR_GET_SECUREBITS)", Arch.SYS_PRCTL, Prctl.PR_GET_SECUREBITS, 0, 0, 0, 0);
        return Credentials.newBuilder()
                .addAllUids(Arrays.stream(ids(s.uid())).boxed().toList())
                .addAllGids(Arrays.stream(ids(s.gid())).boxed().toList())
                .addAllGroups(Arrays.stream(s.groups()).boxed().toList())
                .setCapInheritable(s.capInh()).setCapPermitted(s.capPrm()).setCapEffective(s.capEff())
                .setCapBounding(s.capBnd()).setCapAmbient(s.capAmb())
                .setSecurebits((int) securebits).setNoNewPrivs(s.noNewPrivs()).build();
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        for (var task : ctx.tasks()) {
            Credentials want = ctx.process().getCredentials();
            for (var thread : ctx.process().getThreadsList()) {
                if (thread.getTid() == task.tid() && thread.hasCredentials()) {
                    want = thread.getCredentials();
                }
            }
            new CredentialsRestore(ctx.pid(), task.tid(), task.injector(), want).run();
        }
    }

    /** real, effective, saved, fs: the order of the status line and of the image record. */
    static int[] ids(ProcStatus.Ids ids) {
        return new int[] {ids.real(), ids.effective(), ids.saved(), ids.fs()};
    }
}
