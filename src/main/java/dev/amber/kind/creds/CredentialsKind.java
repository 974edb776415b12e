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
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        new CredentialsRestore(ctx).run();
    }

    /** real, effective, saved, fs: the order of the status line and of the image record. */
    static int[] ids(ProcStatus.Ids ids) {
        return new int[] {ids.real(), ids.effective(), ids.saved(), ids.fs()};
    }
}
