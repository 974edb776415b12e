package dev.amber.kind.ipc;

import dev.amber.image.proto.SysvIpc;
import dev.amber.image.proto.SysvMsg;
import dev.amber.image.proto.SysvSem;
import dev.amber.image.proto.SysvShm;
import dev.amber.image.proto.Vma;
import dev.amber.image.proto.VmaKind;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.ipc.SysvCalls.Kind;
import dev.amber.proc.Maps;
import dev.amber.proc.MapsEntry;
import dev.amber.sys.Arch;
import dev.amber.sys.Spawn;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SysV IPC: the shared memory segments, semaphore sets and message queues of the tree, and each
 * process's attachments of segments ({@code VmaKind.SYSV_SHM} mappings, which the memory kind
 * leaves to this one).
 *
 * <p>No process shows which objects it uses, so the tree's root process saves, once: every
 * segment a process of the tree attaches ({@code /SYSV…} in its maps, the inode column being the
 * shmid) or created or last attached ({@code /proc/sysvipc/shm} cpid, lpid); every semaphore set
 * one of whose semaphores a process of the tree changed last (semctl GETPID); every message
 * queue a process of the tree sent to or received from last (lspid, lrpid). Objects the tree
 * made but never touched again are not seen. Contents are read by Amber without changing them
 * (a read-only attachment, GETALL, msgrcv MSG_COPY).
 *
 * <p>At restart the root process's restore makes them again before any attachment, at the same
 * ids ({@link ObjectMaker}); each process then attaches its segments at their addresses with
 * their protections, semaphores last changed by it get their value set again by it (so GETPID
 * names it), the last sender of a message queue the restart filled sends its last message itself
 * (so lspid names it and a later checkpoint sees the queue again), and the last process of the tree to attach a segment whose IPC_RMID was pending
 * removes it again.
 */
public final class IpcKind implements ProcessKind {
    private static final String HELD = "sysv-ipc";
    private static final int KCMP_SYSVSEM = 6, WALL = 0x40000000;
    /** Segment contents a checkpoint saves at most, together. */
    static final long MAX_SHM_BYTES = 256L << 20;

    @Override
    public String name() {
        return "ipc";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        if (ctx.pid() != ctx.tree().pids().iterator().next()) {
            return;   // the root saves the tree's objects, and looks at every process's undo list
        }
        SysvTable sems = SysvTable.read("sem");
        warnUndo(ctx, sems);
        Map<Integer, List<Integer>> attachedBy = new LinkedHashMap<>();
        for (int pid : ctx.tree().pids()) {
            for (MapsEntry m : Maps.read(pid)) {
                if (m.path().startsWith("/SYSV")) {
                    List<Integer> pids = attachedBy.computeIfAbsent((int) m.inode(), k -> new ArrayList<>());
                    if (!pids.contains(pid)) {
                        pids.add(pid);
                    }
                }
            }
        }
        SysvIpc.Builder ipc = SysvIpc.newBuilder();
        long shmBytes = 0;
        for (SysvTable.Row r : SysvTable.read("shm").rows()) {
            int id = (int) r.decimal("shmid");
            List<Integer> by = attachedBy.containsKey(id) ? attachedBy.remove(id) : List.of();
            int perms = r.octal("perms");
            boolean removed = (perms & SysvTable.SHM_DEST) != 0;
            if (by.isEmpty() && (removed || !ctx.tree().contains((int) r.decimal("cpid"))
                    && !ctx.tree().contains((int) r.decimal("lpid")))) {
                continue;
            }
            long size = r.decimal("size");
            shmBytes += size;
            if (shmBytes > MAX_SHM_BYTES) {
                ctx.refuse("shmid " + id, "SysV shared memory", String.format("%d bytes, %d with the segments before"
                        + " it: more than the %d MiB a checkpoint saves of SysV shared memory", size, shmBytes,
                        MAX_SHM_BYTES >> 20));
                continue;
            }
            ipc.addShm(SysvShm.newBuilder().setId(id).setKey((int) r.decimal("key")).setSize(size)
                    .setMode(perms & 0777).setUid((int) r.decimal("uid")).setGid((int) r.decimal("gid"))
                    .setRemoved(removed).addAllAttachedBy(by)
                    .setContents(com.google.protobuf.ByteString.copyFrom(SysvCalls.shmRead(id, size))));
        }
        attachedBy.forEach((id, pids) -> ctx.refuse("shmid " + id, "SysV shared memory",
                "attached by pid " + pids.getFirst() + " but not in /proc/sysvipc/shm: another IPC namespace?"
                        + " not supported"));
        for (SysvTable.Row r : sems.rows()) {
            int id = (int) r.decimal("semid");
            int[][] vp;
            try {
                vp = SysvCalls.semValues(id, (int) r.decimal("nsems"));
            } catch (dev.amber.sys.ErrnoException e) {
                if (e.errno() == dev.amber.sys.Errno.EINVAL || e.errno() == 43 /* EIDRM */) {
                    continue;   // removed since the table was read: not the tree's to save
                }
                throw e;
            }
            boolean ours = false;
            for (int pid : vp[1]) {
                ours |= ctx.tree().contains(pid);
            }
            if (!ours) {
                continue;
            }
            SysvSem.Builder s = SysvSem.newBuilder().setId(id).setKey((int) r.decimal("key")).setMode(r.octal("perms") & 0777)
                    .setUid((int) r.decimal("uid")).setGid((int) r.decimal("gid"));
            for (int i = 0; i < vp[0].length; i++) {
                s.addValues(vp[0][i]).addPids(vp[1][i]);
            }
            ipc.addSem(s);
        }
        for (SysvTable.Row r : SysvTable.read("msg").rows()) {
            int lspid = (int) r.decimal("lspid"), lrpid = (int) r.decimal("lrpid");
            if (!ctx.tree().contains(lspid) && !ctx.tree().contains(lrpid)) {
                continue;
            }
            int id = (int) r.decimal("msqid");
            byte[] st = SysvCalls.stat(Kind.MSG, id);
            if (st == null) {
                continue;   // removed since the table was read
            }
            long qbytes = java.nio.ByteBuffer.wrap(st).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(SysvCalls.MSG_QBYTES);
            ipc.addMsg(SysvMsg.newBuilder().setId(id).setKey((int) r.decimal("key")).setMode(r.octal("perms") & 0777)
                    .setUid((int) r.decimal("uid")).setGid((int) r.decimal("gid")).setQbytes(qbytes)
                    .setLspid(lspid).setLrpid(lrpid)
                    .addAllMessages(SysvCalls.msgCopyAll(id, r.decimal("qnum"), r.decimal("cbytes"))));
        }
        if (ipc.getShmCount() + ipc.getSemCount() + ipc.getMsgCount() > 0) {
            ctx.process().setSysvIpc(ipc);
        }
    }

    /**
     * Semaphore undo adjustments (SEM_UNDO) are shown nowhere, but whether a process has an undo
     * list at all is: kcmp(KCMP_SYSVSEM) compares it with that of a process that has none (a
     * sleep spawned for the purpose, when any semaphore set exists: a new process starts without
     * one). The list is made at the first semop with SEM_UNDO and kept, possibly with nothing left
     * to undo; but clone(CLONE_SYSVSEM), which every pthread_create passes, makes one too, so a
     * process that has or had threads always has a list: it is not warned about (Amber's own JVM
     * is such a process).
     */
    private static void warnUndo(DumpContext ctx, SysvTable sems) throws IOException {
        if (sems.rows().isEmpty()) {
            return;   // adjustments of sets that are gone are dropped: nothing to lose
        }
        if (reference <= 0) {
            spawnReference();   // a set made since: spawned now, while frozen
        }
        for (int pid : ctx.tree().pids()) {
            if (threaded(pid)) {
                continue;
            }
            long r = Syscall.raw(Arch.SYS_KCMP, pid, reference, KCMP_SYSVSEM, 0, 0, 0);
            if (r > 0) {
                ctx.tree().warn("pid " + pid + ": it has used semop with SEM_UNDO: its semaphore adjustments"
                        + " cannot be read nor saved, so the restarted process will not undo them when it exits");
            }
        }
    }

    /** Whether {@code pid} has more than one thread now (one that had threads and has one left is not told apart). */
    private static boolean threaded(int pid) {
        String[] tasks = new java.io.File("/proc/" + pid + "/task").list();
        return tasks != null && tasks.length > 1;
    }

    /** The process without an undo list that {@link #warnUndo} compares with, or 0. */
    private static int reference;

    /**
     * Before the tree is frozen: spawns the reference process when a semaphore set exists, so that
     * the tree is not kept frozen while it starts (tens of milliseconds).
     */
    @Override
    public void beforeFreeze() throws IOException {
        spawnReference();
    }

    private static void spawnReference() throws IOException {
        if (reference <= 0 && !SysvTable.read("sem").rows().isEmpty()) {
            reference = new Spawn("/bin/sleep", List.of("sleep", "60")).start();
        }
    }

    /** Ends the reference process, once the checkpoint is over. */
    @Override
    public void afterCheckpoint() {
        if (reference > 0) {
            Syscall.raw(Arch.SYS_KILL, reference, 9, 0);
            Syscall.raw(Arch.SYS_WAIT4, reference, 0, WALL, 0);
            reference = 0;
        }
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        ObjectMaker.Made made = ctx.process().hasSysvIpc()
                ? ctx.tree().hold(HELD, () -> ObjectMaker.make(ctx.process().getSysvIpc(), ctx.pid(), ctx.tree().pids(),
                        ctx.tree()))
                : ctx.tree().hold(HELD, ObjectMaker.Made::none);
        SysvIpc ipc = made.ipc();
        List<Vma> attachments = ctx.process().getMemory().getVmasList().stream()
                .filter(v -> v.getKind() == VmaKind.SYSV_SHM).toList();
        if (!attachments.isEmpty()) {
            Attachments.restore(ctx, ipc, attachments);
        }
        ObjectMaker.setSemaphorePids(ctx, ipc);
        ObjectMaker.queuePids(ctx, made, ctx.tree().pids());
    }
}
