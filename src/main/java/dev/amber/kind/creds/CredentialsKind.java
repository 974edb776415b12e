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
        long securebits = ctx.injector().check("prctl(PR_GET_SECUREBITS)", Arch.SYS_PRCTL, Prctl.PR_GET_SECUREBITS, 0, 0, 0, 0);
        ctx.process().setCredentials(Credentials.newBuilder()
                .addAllUids(Arrays.stream(ids(s.uid())).boxed().toList())
                .addAllGids(Arrays.stream(ids(s.gid())).boxed().toList())
                .addAllGroups(Arrays.stream(s.groups()).boxed().toList())
                .setCapInheritable(s.capInh()).setCapPermitted(s.capPrm()).setCapEffective(s.capEff())
                .setCapBounding(s.capBnd()).setCapAmbient(s.capAmb())
                .setSecurebits((int) securebits).setNoNewPrivs(s.noNewPrivs()));
        // Credentials belong to each thread; glibc keeps them equal in all (setxid broadcast). A
        // process whose threads differ (raw syscalls) cannot be restored with one record.
        for (var task : ctx.tasks().subList(1, ctx.tasks().size())) {
            ProcStatus t = ProcStatus.read(ctx.pid(), task.tid());
            if (!Arrays.equals(ids(t.uid()), ids(s.uid())) || !Arrays.equals(ids(t.gid()), ids(s.gid()))
                    || !Arrays.equals(t.groups(), s.groups()) || t.capEff() != s.capEff() || t.capPrm() != s.capPrm()
                    || t.capInh() != s.capInh() || t.capBnd() != s.capBnd() || t.capAmb() != s.capAmb()
                    || t.noNewPrivs() != s.noNewPrivs()) {
                ctx.refuse("thread " + task.tid(), "credentials", "differ from the main thread's:"
                        + " threads with credentials of their own are not supported yet");
            }
        }
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        for (var task : ctx.tasks()) {
            new CredentialsRestore(ctx.pid(), task.tid(), task.injector(), ctx.process().getCredentials()).run();
        }
    }

    /** real, effective, saved, fs: the order of the status line and of the image record. */
    static int[] ids(ProcStatus.Ids ids) {
        return new int[] {ids.real(), ids.effective(), ids.saved(), ids.fs()};
    }
}
