package dev.amber.kind.session;

import dev.amber.image.proto.LeaderState;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import java.io.IOException;

/**
 * Session and process group. The ids are in the process record (pid, pgid, sid, and whether each
 * leader was in the tree, outside it, or gone); the restart's puppet tree rebuilds them as it
 * makes the puppets, since a session is only entered by birth. This kind checks, once a process
 * is restored, that it is in the session and group it was saved in; a session or group led from
 * outside the tree is the restart's own instead, and is not checked.
 */
public final class SessionKind implements ProcessKind {

    @Override
    public String name() {
        return "session";
    }

    @Override
    public void dump(DumpContext ctx) {
        // pgid and sid are read with the process record.
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        var p = ctx.process();
        if (p.getSessionLeader() != LeaderState.OUTSIDE) {
            long sid = ctx.injector().check("getsid", Arch.SYS_GETSID, 0);
            if (sid != p.getSid()) {
                throw new IOException("pid " + p.getPid() + ": is in session " + sid + " instead of its saved "
                        + p.getSid() + " after the restart built the tree");
            }
        }
        if (p.getGroupLeader() != LeaderState.OUTSIDE) {
            long pgid = ctx.injector().check("getpgid", Arch.SYS_GETPGID, 0);
            if (pgid != p.getPgid()) {
                throw new IOException("pid " + p.getPid() + ": is in process group " + pgid + " instead of its saved "
                        + p.getPgid() + " after the restart built the tree");
            }
        }
    }
}
