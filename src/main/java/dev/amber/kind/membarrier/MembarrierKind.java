package dev.amber.kind.membarrier;

import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.trace.Injector;
import java.io.IOException;

/**
 * membarrier(2) registrations: the expedited barriers a process must register for before it may
 * use them (MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED and its kin) belong to its mm, so a
 * restarted process has none and its next barrier fails with EPERM. They are read with
 * MEMBARRIER_CMD_GET_REGISTRATIONS (Linux 6.3 onwards) run in the process and registered again.
 */
public final class MembarrierKind implements ProcessKind {
    private static final int SYS_MEMBARRIER = 324;
    private static final int CMD_GET_REGISTRATIONS = 1 << 9;
    /** REGISTER_GLOBAL_EXPEDITED, REGISTER_PRIVATE_EXPEDITED, its SYNC_CORE and RSEQ forms. */
    private static final int[] REGISTER = {1 << 2, 1 << 4, 1 << 6, 1 << 8};

    @Override
    public String name() {
        return "membarrier";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        long r = ctx.injector().call(SYS_MEMBARRIER, CMD_GET_REGISTRATIONS, 0, 0);
        if (r < 0) {
            return;  // no membarrier, or too old to tell: nothing can have been registered that we could see
        }
        ctx.process().setMembarrier((int) r);
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        int registered = ctx.process().getMembarrier();
        Injector inj = ctx.injector();
        for (int cmd : REGISTER) {
            if ((registered & cmd) != 0) {
                inj.check("membarrier(register 0x" + Integer.toHexString(cmd) + ")", SYS_MEMBARRIER, cmd, 0, 0);
            }
        }
    }
}
