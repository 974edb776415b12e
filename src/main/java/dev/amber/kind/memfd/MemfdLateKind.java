package dev.amber.kind.memfd;

import dev.amber.image.proto.Memfd;
import dev.amber.image.proto.Vma;
import dev.amber.image.proto.VmaKind;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Ends what {@link MemfdEarlyKind} began, once the mappings and descriptors of every memfd exist:
 * adds the seals that had to wait for them ({@link MemfdEarlyKind#LATE_SEALS}) and closes the
 * temporary descriptors, so that only the saved descriptors and mappings hold the memfds.
 */
public final class MemfdLateKind implements ProcessKind {
    @Override
    public String name() {
        return "memfd-late";
    }

    /**
     * A memfd this process maps through a descriptor it inherited (saved as its parent's open
     * file, so with no memfd record of its own) still needs a record for its mappings: a copy of
     * the tree's earlier one, without the contents (the memfd is made once for the tree).
     */
    @Override
    public void dump(DumpContext ctx) {
        Map<Long, Memfd> seen = ctx.tree().cached(Seen.class, Seen::new).records;
        for (Memfd m : MemfdEarlyKind.memfds(ctx.process())) {
            seen.putIfAbsent(m.getInode(), m.toBuilder().clearContents().clearFlags().clearPosition().build());
        }
        Set<Long> have = new HashSet<>();
        MemfdEarlyKind.memfds(ctx.process()).forEach(m -> have.add(m.getInode()));
        for (Vma v : ctx.process().getMemory().getVmasList()) {
            long inode = v.getFileIdentity().getInode();
            if (v.getKind() == VmaKind.MEMFD && !have.contains(inode) && seen.containsKey(inode)) {
                ctx.process().getMemoryBuilder().addMemfds(seen.get(inode));
                have.add(inode);
            }
        }
    }

    /** The memfd records of the tree so far, by inode. */
    private static final class Seen {
        final Map<Long, Memfd> records = new HashMap<>();
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
