package dev.amber.kind.session;

import dev.amber.sys.Arch;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.trace.Injector;
import java.io.IOException;

/**
 * Session and process group. A process that led its session or its group leads a new one with
 * the same id again (its id is its pid, which the restart keeps). One that belonged to someone
 * else's group joins it if that group still exists in Amber's session; otherwise it stays in a
 * group of its own (whole trees with their sessions come with process-tree support).
 *
 * <p>The ids themselves are in the process record (pid, pgid, sid); nothing more is dumped.
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
        Injector inj = ctx.injector();
        if (p.getSid() == p.getPid()) {
            inj.check("setsid", Arch.SYS_SETSID);
        } else if (p.getPgid() == p.getPid()) {
            inj.check("setpgid(0, 0)", Arch.SYS_SETPGID, 0, 0);
        } else {
            inj.call(Arch.SYS_SETPGID, 0, p.getPgid());   // joins the group if it is still there; else keeps its own
        }
    }
}
