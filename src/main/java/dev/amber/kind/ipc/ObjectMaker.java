package dev.amber.kind.ipc;

import dev.amber.image.proto.SysvIpc;
import dev.amber.image.proto.SysvMessage;
import dev.amber.image.proto.SysvMsg;
import dev.amber.image.proto.SysvSem;
import dev.amber.image.proto.SysvShm;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.ipc.SysvCalls.Kind;
import dev.amber.sys.Arch;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Makes the tree's SysV objects again at their ids, in Amber, before any process of the tree is
 * restored further. IPC objects outlive their processes, so after {@code checkpoint --kill} they
 * are normally still there: an object at the saved id with the same key, mode and size (segment
 * bytes, number of semaphores) is the same object and is used, its contents set to the saved
 * ones (a message queue is used when it holds exactly the saved messages, or none, and is then
 * filled). Any other object at that id, or another object holding the key, fails the restart
 * with one line naming id and key.
 */
final class ObjectMaker {
    private static final int STAT_KEY = 0, STAT_MODE = 20, SHM_SEGSZ = 48, SEM_NSEMS = 80;

    private ObjectMaker() {}

    /** The objects made, and the message queues filled by the restart (whose lspid it sets). */
    record Made(SysvIpc ipc, Set<Integer> filledQueues) {
        static Made none() {
            return new Made(SysvIpc.getDefaultInstance(), Set.of());
        }
    }

    static Made make(SysvIpc ipc, int pid, Set<Integer> tree, dev.amber.kind.TreeRestore restore) throws IOException {
        Set<Integer> filled = new HashSet<>();
        for (SysvShm s : ipc.getShmList()) {
            String what = "pid " + pid + ": " + Kind.SHM.name(s.getId(), s.getKey());
            if (!same(Kind.SHM, s.getId(), s.getKey(), s.getMode(), SHM_SEGSZ, s.getSize(), what, "bytes")) {
                free(Kind.SHM, s.getKey(), what);
                SysvCalls.create(Kind.SHM, s.getId(), s.getRemoved() ? 0 : s.getKey(), s.getSize(), s.getMode(), what);
                restore.onFailure(() -> SysvCalls.remove(Kind.SHM, s.getId()));   // made by this restart
                SysvCalls.setOwner(Kind.SHM, s.getId(), s.getUid(), s.getGid(), s.getMode(), 0);
            }
            SysvCalls.shmWrite(s.getId(), s.getContents().toByteArray());
        }
        for (SysvSem s : ipc.getSemList()) {
            String what = "pid " + pid + ": " + Kind.SEM.name(s.getId(), s.getKey());
            if (!same(Kind.SEM, s.getId(), s.getKey(), s.getMode(), SEM_NSEMS, s.getValuesCount(), what, "semaphores")) {
                free(Kind.SEM, s.getKey(), what);
                SysvCalls.create(Kind.SEM, s.getId(), s.getKey(), s.getValuesCount(), s.getMode(), what);
                restore.onFailure(() -> SysvCalls.remove(Kind.SEM, s.getId()));   // made by this restart
                SysvCalls.setOwner(Kind.SEM, s.getId(), s.getUid(), s.getGid(), s.getMode(), 0);
            }
            SysvCalls.semSetAll(s.getId(), s.getValuesList());
        }
        for (SysvMsg q : ipc.getMsgList()) {
            String what = "pid " + pid + ": " + Kind.MSG.name(q.getId(), q.getKey());
            boolean fill = true;
            if (same(Kind.MSG, q.getId(), q.getKey(), q.getMode(), -1, 0, what, "")) {
                byte[] st = SysvCalls.stat(Kind.MSG, q.getId());
                ByteBuffer b = ByteBuffer.wrap(st).order(ByteOrder.LITTLE_ENDIAN);
                long cbytes = b.getLong(72), qnum = b.getLong(80);
                if (qnum > 0) {
                    List<SysvMessage> there = SysvCalls.msgCopyAll(q.getId(), qnum, cbytes);
                    if (!there.equals(q.getMessagesList())) {
                        throw new IOException(what + " exists already and holds " + there.size() + " messages that"
                                + " differ from the image's " + q.getMessagesCount() + ": remove it (ipcrm -q "
                                + q.getId() + ") or stop the processes that use it");
                    }
                    fill = false;
                }
            } else {
                free(Kind.MSG, q.getKey(), what);
                SysvCalls.create(Kind.MSG, q.getId(), q.getKey(), 0, q.getMode(), what);
                restore.onFailure(() -> SysvCalls.remove(Kind.MSG, q.getId()));   // made by this restart
            }
            SysvCalls.setOwner(Kind.MSG, q.getId(), q.getUid(), q.getGid(), q.getMode(), q.getQbytes());
            if (fill) {
                // The last sender, if it is in the tree, sends the last message itself (queuePids).
                List<SysvMessage> ms = q.getMessagesList();
                int byAmber = ms.size() - (tree.contains(q.getLspid()) && !ms.isEmpty() ? 1 : 0);
                for (SysvMessage m : ms.subList(0, byAmber)) {
                    SysvCalls.msgSend(q.getId(), m);
                }
                filled.add(q.getId());
            }
        }
        return new Made(ipc, filled);
    }

    /**
     * Whether object {@code id} exists and is the saved one (same key, mode and, at
     * {@code sizeAt}, size); false when there is none; fails naming it when it is another.
     */
    private static boolean same(Kind kind, int id, int key, int mode, int sizeAt, long size, String what, String unit)
            throws IOException {
        byte[] st = SysvCalls.stat(kind, id);
        if (st == null) {
            return false;
        }
        ByteBuffer b = ByteBuffer.wrap(st).order(ByteOrder.LITTLE_ENDIAN);
        int hasKey = b.getInt(STAT_KEY), hasMode = b.getShort(STAT_MODE) & 0777;
        long hasSize = sizeAt < 0 ? size : b.getLong(sizeAt);
        boolean removedSegment = kind == Kind.SHM && (b.getShort(STAT_MODE) & SysvTable.SHM_DEST) != 0;
        if (hasKey != key && !(removedSegment && hasKey == 0) || hasMode != mode || hasSize != size) {
            throw new IOException(what + " exists already as another " + kind.what + " (key 0x"
                    + Integer.toHexString(hasKey) + ", mode 0" + Integer.toOctalString(hasMode)
                    + (sizeAt < 0 ? "" : ", " + hasSize + " " + unit) + "; the image has mode 0"
                    + Integer.toOctalString(mode) + (sizeAt < 0 ? "" : ", " + size + " " + unit) + "): remove it ("
                    + kind.remove + " " + id + ") or stop the processes that use it");
        }
        return true;
    }

    /** Fails, naming the holder, when another object holds {@code key}. */
    private static void free(Kind kind, int key, String what) throws IOException {
        if (key == 0) {
            return;   // IPC_PRIVATE
        }
        long other = kind == Kind.MSG ? Syscall.raw(kind.get, key, 0, 0) : Syscall.raw(kind.get, key, 0, 0);
        if (other >= 0) {
            throw new IOException(what + ": its key is held by another " + kind.what + ", id " + other
                    + ": remove it (" + kind.remove + " " + other + ") or stop the processes that use it");
        }
    }

    /**
     * A message queue the restart filled names Amber as its last sender; the tree's process that
     * was the last sender sends the last message itself (or, when there is none, sends and takes
     * back an empty one), so that a later checkpoint of the restarted tree sees the queue as the
     * tree's again. When only the last receiver is in the tree, it does the same for an empty
     * queue; a queue with messages then stays Amber's (and is seen again once the tree uses it).
     */
    static void queuePids(RestoreContext ctx, Made made, Set<Integer> tree) throws IOException {
        int me = ctx.process().getPid();
        for (SysvMsg q : made.ipc().getMsgList()) {
            if (!made.filledQueues().contains(q.getId())) {
                continue;
            }
            boolean sender = q.getLspid() == me;
            boolean receiver = !tree.contains(q.getLspid()) && q.getLrpid() == me;
            if (sender && q.getMessagesCount() > 0) {
                send(ctx, q.getId(), q.getMessages(q.getMessagesCount() - 1));
            } else if ((sender || receiver) && q.getMessagesCount() == 0) {
                send(ctx, q.getId(), SysvMessage.newBuilder().setType(1).build());
                ctx.injector().check("msgrcv msqid " + q.getId(), Arch.SYS_MSGRCV, q.getId(), ctx.injector().scratch(),
                        0, 0, SysvCalls.IPC_NOWAIT);
            }
        }
    }

    private static void send(RestoreContext ctx, int id, SysvMessage m) throws IOException {
        byte[] data = m.getData().toByteArray();
        byte[] msg = ByteBuffer.allocate(8 + data.length).order(ByteOrder.LITTLE_ENDIAN).putLong(m.getType()).put(data)
                .array();
        ctx.injector().check("msgsnd msqid " + id, Arch.SYS_MSGSND, id, ctx.injector().put(0, msg), data.length,
                SysvCalls.IPC_NOWAIT);
    }

    /**
     * Semaphores whose last change was this process's get their value set again by it
     * (semctl SETVAL in the process), so that GETPID names it as before.
     */
    static void setSemaphorePids(RestoreContext ctx, SysvIpc ipc) throws IOException {
        for (SysvSem s : ipc.getSemList()) {
            for (int i = 0; i < s.getPidsCount(); i++) {
                if (s.getPids(i) == ctx.process().getPid()) {
                    ctx.injector().check("semctl(SETVAL) semid " + s.getId() + " semaphore " + i, Arch.SYS_SEMCTL,
                            s.getId(), i, SysvCalls.SETVAL, s.getValues(i));
                }
            }
        }
    }
}
