package dev.amber.kind.memfd;

import dev.amber.image.proto.Memfd;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;

/**
 * Ends what {@link MemfdEarlyKind} began, once the mappings and descriptors of every memfd exist:
 * adds the seals that had to wait for them ({@link MemfdEarlyKind#LATE_SEALS}) and closes the
 * temporary descriptors, so that only the saved descriptors and mappings hold the memfds. Nothing
 * to save: the early kind and the descriptor table saved everything.
 */
public final class MemfdLateKind implements ProcessKind {
    @Override
    public String name() {
        return "memfd-late";
    }

    @Override
    public void dump(DumpContext ctx) {
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        Injector inj = ctx.injector();
        for (Memfd m : MemfdEarlyKind.distinct(ctx.process())) {
            int temporary = MemfdEarlyKind.temporaryFd(ctx.process(), m.getInode());
            String what = "memfd " + m.getName() + " (inode " + m.getInode() + ")";
            int late = m.getSeals() & MemfdEarlyKind.LATE_SEALS;
            if (late != 0) {
                // Once every process of the tree has mapped it (a later one may map it writable
                // too), through Amber's copy; once per memfd (F_SEAL_SEAL forbids a second time).
                int amberFd = ctx.tree().hold(MemfdEarlyKind.amberKey(m.getInode()), () -> {
                    throw new IOException(what + ": not made by memfd-early");
                });
                ctx.tree().hold(java.util.List.of("memfd-seals", m.getInode()), () -> {
                    ctx.tree().atEnd(() -> dev.amber.sys.Syscall.check("fcntl(F_ADD_SEALS)", what, Arch.SYS_FCNTL,
                            amberFd, MemfdEarlyKind.F_ADD_SEALS, late));
                    return Boolean.TRUE;
                });
            }
            inj.check("close temporary fd " + temporary + " of " + what, Arch.SYS_CLOSE, temporary);
        }
    }
}
