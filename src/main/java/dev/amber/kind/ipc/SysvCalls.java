package dev.amber.kind.ipc;

import dev.amber.image.proto.SysvMessage;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.ProcessMemory;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * SysV IPC calls Amber makes itself, as root in the tree's IPC namespace (so no object's
 * permissions stand in the way). x86-64 layouts: {@code struct ipc64_perm} is key, uid, gid,
 * cuid, cgid (ints at 0..16), mode (ushort at 20), seq, then two longs: 48 bytes; the
 * {@code *id64_ds} structs start with it. {@code msqid64_ds.msg_qbytes} is at 88.
 */
final class SysvCalls {
    static final int IPC_CREAT = 01000, IPC_EXCL = 02000, IPC_NOWAIT = 04000;
    static final int IPC_RMID = 0, IPC_SET = 1, IPC_STAT = 2;
    static final int GETPID = 11, GETALL = 13, SETALL = 17, SETVAL = 16;
    static final int SHM_RDONLY = 010000, MSG_COPY = 040000;
    static final int PERM_UID = 4, PERM_GID = 8, PERM_MODE = 20, MSG_QBYTES = 88;
    private static final int AMBER = (int) ProcessHandle.current().pid();

    /** The three kinds of object: their get/ctl calls and their next_id knob. */
    enum Kind {
        SHM("shared memory", Arch.SYS_SHMGET, Arch.SYS_SHMCTL, "shm_next_id", "ipcrm -m"),
        SEM("semaphore set", Arch.SYS_SEMGET, Arch.SYS_SEMCTL, "sem_next_id", "ipcrm -s"),
        MSG("message queue", Arch.SYS_MSGGET, Arch.SYS_MSGCTL, "msg_next_id", "ipcrm -q");

        final String what, nextId, remove;
        final int get, ctl;

        Kind(String what, int get, int ctl, String nextId, String remove) {
            this.what = what;
            this.get = get;
            this.ctl = ctl;
            this.nextId = nextId;
            this.remove = remove;
        }

        String name(int id, int key) {
            return "SysV " + what + " id " + id + " (key 0x" + Integer.toHexString(key) + ")";
        }
    }

    private SysvCalls() {}

    /** IPC_STAT of object {@code id}: 256 bytes of {@code *id64_ds}, or null when there is no such object. */
    static byte[] stat(Kind kind, int id) throws ErrnoException {
        try (LocalBuffer b = new LocalBuffer(256)) {
            long r = kind == Kind.SEM ? Syscall.raw(kind.ctl, id, 0, IPC_STAT, b.at(0))
                    : Syscall.raw(kind.ctl, id, IPC_STAT, b.at(0));
            if (r == -Errno.EINVAL || r == -43 /* EIDRM */) {
                return null;
            }
            ErrnoException.check(r, "IPC_STAT", kind.name(id, 0));
            return b.get(0, 256);
        }
    }

    /** Sets owner, mode and (message queues) the byte limit: IPC_STAT, change, IPC_SET. */
    static void setOwner(Kind kind, int id, int uid, int gid, int mode, long qbytes) throws ErrnoException {
        try (LocalBuffer b = new LocalBuffer(256)) {
            long r = kind == Kind.SEM ? Syscall.raw(kind.ctl, id, 0, IPC_STAT, b.at(0))
                    : Syscall.raw(kind.ctl, id, IPC_STAT, b.at(0));
            ErrnoException.check(r, "IPC_STAT", kind.name(id, 0));
            b.putInt(PERM_UID, uid);
            b.putInt(PERM_GID, gid);
            b.put(PERM_MODE, new byte[] {(byte) mode, (byte) ((mode >> 8) & 1)});
            if (kind == Kind.MSG && qbytes != 0) {
                b.putLong(MSG_QBYTES, qbytes);
            }
            r = kind == Kind.SEM ? Syscall.raw(kind.ctl, id, 0, IPC_SET, b.at(0))
                    : Syscall.raw(kind.ctl, id, IPC_SET, b.at(0));
            ErrnoException.check(r, "IPC_SET", kind.name(id, 0));
        }
    }

    /**
     * Makes a new object at exactly {@code id}: the kernel takes the next id from
     * /proc/sys/kernel/KIND_next_id (needs CAP_CHECKPOINT_RESTORE; written back to -1 by the
     * kernel once used). {@code arg} is the size (shm), nsems (sem) or unused (msg).
     */
    static void create(Kind kind, int id, int key, long arg, int mode, String what) throws IOException {
        Files.writeString(Path.of("/proc/sys/kernel/" + kind.nextId), Integer.toString(id));
        long r = kind == Kind.MSG ? Syscall.raw(kind.get, key, IPC_CREAT | IPC_EXCL | (mode & 0777), 0)
                : Syscall.raw(kind.get, key, arg, IPC_CREAT | IPC_EXCL | (mode & 0777));
        if (r == -Errno.EEXIST) {
            throw new IOException(what + ": its key is taken by another " + kind.what + ": remove that one ("
                    + kind.remove + " with the id ipcs shows for key 0x" + Integer.toHexString(key) + ")");
        }
        ErrnoException.check(r, kind == Kind.SHM ? "shmget" : kind == Kind.SEM ? "semget" : "msgget", what);
        if (r != id) {
            remove(kind, (int) r);
            throw new IOException(what + ": the kernel gave id " + r + " instead (another process made an object"
                    + " at the same moment?): restart again");
        }
    }

    static void remove(Kind kind, int id) {
        if (kind == Kind.SEM) {
            Syscall.raw(kind.ctl, id, 0, IPC_RMID, 0);
        } else {
            Syscall.raw(kind.ctl, id, IPC_RMID, 0);
        }
    }

    /** A segment's bytes, through an attachment of Amber's own (read-only, detached again). */
    static byte[] shmRead(int id, long size) throws ErrnoException {
        long at = Syscall.check("shmat", "shmid " + id, Arch.SYS_SHMAT, id, 0, SHM_RDONLY);
        try {
            return ProcessMemory.read(AMBER, at, Math.toIntExact(size));
        } finally {
            Syscall.raw(Arch.SYS_SHMDT, at, 0, 0);
        }
    }

    static void shmWrite(int id, byte[] contents) throws ErrnoException {
        long at = Syscall.check("shmat", "shmid " + id, Arch.SYS_SHMAT, id, 0, 0);
        try {
            if (contents.length > 0) {
                ProcessMemory.write(AMBER, at, contents);
            }
        } finally {
            Syscall.raw(Arch.SYS_SHMDT, at, 0, 0);
        }
    }

    /** Each semaphore's value and last pid. */
    static int[][] semValues(int id, int nsems) throws ErrnoException {
        int[] values = new int[nsems], pids = new int[nsems];
        try (LocalBuffer b = new LocalBuffer(2L * nsems)) {
            Syscall.check("semctl(GETALL)", "semid " + id, Arch.SYS_SEMCTL, id, 0, GETALL, b.at(0));
            byte[] raw = b.get(0, 2 * nsems);
            for (int i = 0; i < nsems; i++) {
                values[i] = (raw[2 * i] & 0xff) | (raw[2 * i + 1] & 0xff) << 8;
                pids[i] = (int) Syscall.check("semctl(GETPID)", "semid " + id, Arch.SYS_SEMCTL, id, i, GETPID, 0);
            }
        }
        return new int[][] {values, pids};
    }

    static void semSetAll(int id, List<Integer> values) throws ErrnoException {
        try (LocalBuffer b = new LocalBuffer(2L * values.size())) {
            byte[] raw = new byte[2 * values.size()];
            for (int i = 0; i < values.size(); i++) {
                raw[2 * i] = (byte) (int) values.get(i);
                raw[2 * i + 1] = (byte) (values.get(i) >> 8);
            }
            b.put(0, raw);
            Syscall.check("semctl(SETALL)", "semid " + id, Arch.SYS_SEMCTL, id, 0, SETALL, b.at(0));
        }
    }

    /** Every message of a queue, in order, without taking them (msgrcv MSG_COPY, by index). */
    static List<SysvMessage> msgCopyAll(int id, long qnum, long cbytes) throws ErrnoException {
        List<SysvMessage> out = new ArrayList<>();
        long room = Math.max(cbytes, 1);
        try (LocalBuffer b = new LocalBuffer(8 + room)) {
            for (long i = 0; i < qnum; i++) {
                long n = Syscall.raw(Arch.SYS_MSGRCV, id, b.at(0), room, i, IPC_NOWAIT | MSG_COPY, 0);
                if (n == -Errno.ENOMEM || n == -Errno.EINVAL || n == -42 /* ENOMSG */) {
                    break;   // fewer than qnum: taken meanwhile by a process outside the tree
                }
                ErrnoException.check(n, "msgrcv(MSG_COPY)", "msqid " + id + " message " + i);
                out.add(SysvMessage.newBuilder().setType(b.getLong(0))
                        .setData(com.google.protobuf.ByteString.copyFrom(b.get(8, (int) n))).build());
            }
        }
        return out;
    }

    static void msgSend(int id, SysvMessage m) throws ErrnoException {
        byte[] data = m.getData().toByteArray();
        try (LocalBuffer b = new LocalBuffer(8 + data.length)) {
            b.putLong(0, m.getType());
            b.put(8, data);
            Syscall.check("msgsnd", "msqid " + id, Arch.SYS_MSGSND, id, b.at(0), data.length, IPC_NOWAIT);
        }
    }
}
