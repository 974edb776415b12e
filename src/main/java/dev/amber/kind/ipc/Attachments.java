package dev.amber.kind.ipc;

import dev.amber.image.proto.SysvIpc;
import dev.amber.image.proto.SysvShm;
import dev.amber.image.proto.Vma;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.ipc.SysvCalls.Kind;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A process's attachments of SysV segments. One shmat(2) shows in maps as one mapping of the
 * whole segment (rounded up to pages) at offset 0; mprotect or munmap of a part splits it into
 * several, whose start minus file offset is still the attach address. So each attach address is
 * attached again in full (read-only when no part is writable, SHM_EXEC when a part is
 * executable), each part gets its protection, and what is not mapped any more is unmapped.
 */
final class Attachments {
    private static final int SHM_RDONLY = 010000, SHM_EXEC = 0100000, PROT_WRITE = 2, PROT_EXEC = 4;

    private Attachments() {}

    static void restore(RestoreContext ctx, SysvIpc ipc, List<Vma> vmas) throws IOException {
        Injector inj = ctx.injector();
        Map<Long, List<Vma>> byAddress = new LinkedHashMap<>();
        for (Vma v : vmas) {
            byAddress.computeIfAbsent(v.getStart() - v.getFileOffset(), k -> new ArrayList<>()).add(v);
        }
        for (var e : byAddress.entrySet()) {
            long at = e.getKey();
            List<Vma> parts = e.getValue();
            int id = (int) parts.getFirst().getFileIdentity().getInode();
            SysvShm seg = ipc.getShmList().stream().filter(s -> s.getId() == id).findFirst().orElseThrow(
                    () -> new IOException("pid " + ctx.pid() + ": the image has an attachment of SysV shared memory id "
                            + id + " at 0x" + Long.toHexString(at) + " but not the segment"));
            String what = String.format("pid %d: attach %s at 0x%x", ctx.pid(), Kind.SHM.name(id, seg.getKey()), at);
            boolean write = parts.stream().anyMatch(v -> (v.getProt() & PROT_WRITE) != 0);
            boolean exec = parts.stream().anyMatch(v -> (v.getProt() & PROT_EXEC) != 0);
            long got = inj.check("shmat " + what, Arch.SYS_SHMAT, id, at, (write ? 0 : SHM_RDONLY) | (exec ? SHM_EXEC : 0));
            if (got != at) {
                throw new IOException(what + ": the kernel attached it at 0x" + Long.toHexString(got));
            }
            long end = at + ((seg.getSize() + Arch.PAGE_SIZE - 1) & -Arch.PAGE_SIZE);
            int full = 1 | (write ? PROT_WRITE : 0) | (exec ? PROT_EXEC : 0);
            long covered = at;
            for (Vma v : parts.stream().sorted((a, b) -> Long.compareUnsigned(a.getStart(), b.getStart())).toList()) {
                if (v.getStart() > covered) {
                    inj.check("munmap a detached part of " + what, Arch.SYS_MUNMAP, covered, v.getStart() - covered);
                }
                if (v.getProt() != full) {
                    inj.check("mprotect part of " + what, Arch.SYS_MPROTECT, v.getStart(), v.getEnd() - v.getStart(),
                            v.getProt());
                }
                covered = v.getEnd();
            }
            if (covered < end) {
                inj.check("munmap a detached part of " + what, Arch.SYS_MUNMAP, covered, end - covered);
            }
            if (seg.getRemoved() && seg.getAttachedByList().getLast() == ctx.process().getPid()
                    && at == lastAddress(byAddress, id)) {
                inj.check("shmctl(IPC_RMID) " + what, Arch.SYS_SHMCTL, id, SysvCalls.IPC_RMID, 0);
            }
        }
    }

    /** The last attach address of segment {@code id} in this process. */
    private static long lastAddress(Map<Long, List<Vma>> byAddress, int id) {
        long last = 0;
        for (var e : byAddress.entrySet()) {
            if (e.getValue().getFirst().getFileIdentity().getInode() == id) {
                last = e.getKey();
            }
        }
        return last;
    }
}
