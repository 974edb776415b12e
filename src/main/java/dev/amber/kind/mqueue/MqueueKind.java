package dev.amber.kind.mqueue;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Mqueue;
import dev.amber.image.proto.MqueueMessage;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.FdKinds;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A descriptor of a POSIX message queue (mq_open(3)). Its {@code /proc/PID/fd} link reads
 * {@code /NAME}, like a file in the root directory (or a memfd, {@code /memfd:NAME (deleted)}), so
 * this kind looks first and hands anything not on the mqueue file system (fstatfs magic) to the
 * kind that comes next for it.
 *
 * <p>The queue is saved once, with the first descriptor of its inode in the tree: attributes,
 * mode, owner and every message with its priority. Reading messages takes them, so Amber opens
 * the queue itself (through /proc, read-write, non-blocking), takes them all and sends them back
 * in the same order at once: the live queue is as it was, and the tree is frozen meanwhile.
 * Sending into an empty queue would fire a registered notification, so a queue with both a
 * notification and messages is refused. A notification (SIGEV_SIGNAL or SIGEV_NONE) is
 * registered again by its process; its sigev_value cannot be read and comes back as 0.
 *
 * <p>At restart Amber creates the queue (O_CREAT | O_EXCL) with its attributes, owner and
 * messages. A queue outlives its processes: if one of that name exists with the same maxmsg and
 * msgsize and holds exactly the saved messages (the usual case after {@code checkpoint --kill}),
 * or is empty, it is used; otherwise the restart fails naming it. Each descriptor opens the
 * queue by name in the puppet with its saved access mode and O_NONBLOCK.
 */
public final class MqueueKind implements FdKind {
    private static final long MQUEUE_MAGIC = 0x19800202L;
    private static final int O_ACCMODE = 3, O_NONBLOCK = 04000;

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.MQUEUE;
    }

    @Override
    public boolean handles(String target) {
        String name = target.endsWith(" (deleted)") ? target.substring(0, target.length() - 10) : target;
        return name.length() > 1 && name.startsWith("/") && name.indexOf('/', 1) < 0;
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        Injector inj = ctx.injector();
        inj.check("fstatfs fd " + fd, Arch.SYS_FSTATFS, fd, inj.scratch());
        if ((inj.getLong(0) & 0xffffffffL) != MQUEUE_MAGIC) {
            // Not a queue: the kind that would have had it without this one (memfd, FIFO, file…).
            FdKinds.ALL.stream().filter(k -> k != this && k.handles(ctx.pid(), fd, target)).findFirst().orElseThrow()
                    .dump(ctx, fd, target, info, d);
            return;
        }
        String kind = "POSIX message queue " + target;
        if (target.endsWith(" (deleted)")) {
            ctx.refuse("fd " + fd, kind, "unlinked while open: not supported");
            return;
        }
        Mqueue.Builder q = Mqueue.newBuilder().setName(target.substring(1)).setFlags(info.flags()).setInode(info.ino());
        Set<Long> saved = ctx.tree().cached(MqueueKind.class, HashSet::new);
        try (MqueueFile f = MqueueFile.reopen(ctx.pid(), fd)) {
            MqueueStatus status = f.status();
            if (status.notifyPid() != 0) {
                if (status.sigevNotify() != MqueueStatus.SIGEV_SIGNAL && status.sigevNotify() != MqueueStatus.SIGEV_NONE) {
                    ctx.refuse("fd " + fd, kind, "notification by thread (SIGEV_THREAD) is not supported");
                    return;
                }
                if (!ctx.tree().contains(status.notifyPid())) {
                    ctx.refuse("fd " + fd, kind, "pid " + status.notifyPid() + ", outside the tree, is registered"
                            + " for its notification: not supported");
                    return;
                }
                q.setNotifyPid(status.notifyPid()).setNotify(status.sigevNotify()).setNotifySigno(status.signo());
            }
            if (saved.contains(info.ino())) {
                d.setMqueue(q);   // the queue itself is in an earlier record
                return;
            }
            long[] attr = f.attr();
            if (attr[3] > 0 && status.notifyPid() != 0) {
                ctx.refuse("fd " + fd, kind, attr[3] + " message(s) queued and pid " + status.notifyPid()
                        + " registered for notification: saving the messages would fire it; not supported");
                return;
            }
            List<MqueueMessage> messages = f.takeAll(attr[3], attr[2]);
            for (MqueueMessage m : messages) {
                f.send(m);   // back in the order they came out: the same order again
            }
            Map<String, Object> a = Files.readAttributes(Path.of("/proc/" + ctx.pid() + "/fd/" + fd), "unix:mode,uid,gid");
            q.setHoldsQueue(true).setMaxmsg(attr[1]).setMsgsize(attr[2]).addAllMessages(messages)
                    .setMode((Integer) a.get("mode") & 07777).setUid((Integer) a.get("uid")).setGid((Integer) a.get("gid"));
            saved.add(info.ino());
            if (status.notifyPid() != 0 && status.sigevNotify() == MqueueStatus.SIGEV_SIGNAL) {
                ctx.tree().warn("pid " + ctx.pid() + " fd " + fd + ": " + kind + ": the notification of pid "
                        + status.notifyPid() + " (signal " + status.signo() + ") comes back with sigev_value 0:"
                        + " its value cannot be read");
            }
        }
        d.setMqueue(q);
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Mqueue q = d.getMqueue();
        String what = "pid " + ctx.pid() + " fd " + d.getFd() + " POSIX message queue /" + q.getName();
        if (q.getHoldsQueue()) {
            ctx.tree().hold("mqueue:" + q.getName(), () -> {
                if (make(q, what)) {   // made by this restart: removed again if it fails
                    ctx.tree().onFailure(() -> MqueueFile.unlink(q.getName()));
                }
                return Boolean.TRUE;
            });
        }
        Injector inj = ctx.injector();
        long fd = inj.call(Arch.SYS_MQ_OPEN, inj.putString(0, q.getName()), q.getFlags() & (O_ACCMODE | O_NONBLOCK), 0, 0);
        if (fd < 0) {
            throw new IOException(what + ": mq_open: " + Errno.describe((int) -fd)
                    + (fd == -Errno.ENOENT ? " (the queue is gone: was it removed during the restart?)" : ""));
        }
        if (q.getNotifyPid() == ctx.process().getPid() && fd != d.getFd()) {
            // Closing any descriptor of the queue in the registered process removes its
            // registration: the queue is put at its number before it registers, not moved after.
            inj.check("dup3 " + what, Arch.SYS_DUP3, fd, d.getFd(), 0);
            inj.check("close " + what, Arch.SYS_CLOSE, fd);
            fd = d.getFd();
        }
        long at = fd;
        if (q.getNotifyPid() == ctx.process().getPid()) {   // saved pids: the same inside a new pid namespace
            ctx.tree().hold("mqueue-notify:" + q.getName(), () -> {
                // struct sigevent: sigev_value (8), sigev_signo (4), sigev_notify (4), the rest unused.
                byte[] ev = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putLong(0).putInt(q.getNotifySigno())
                        .putInt(q.getNotify()).array();
                inj.check("mq_notify " + what, Arch.SYS_MQ_NOTIFY, at, inj.put(64, ev));
                return Boolean.TRUE;
            });
        }
        return fd;
    }

    /**
     * Creates the queue in Amber with its messages. A queue outlives its processes, so after
     * {@code checkpoint --kill} it is normally still there: one with the same maxmsg and msgsize
     * that holds exactly the saved messages (checked by taking them and sending them back) is used
     * as it is, an empty one is filled, and anything else fails the restart, naming it.
     */
    /** Returns whether the queue was created (rather than found). */
    private static boolean make(Mqueue q, String what) throws IOException {
        MqueueFile f = MqueueFile.create(q.getName(), q.getMaxmsg(), q.getMsgsize(), q.getMode());
        boolean created = f != null;
        boolean fill = true;
        if (f == null) {
            f = MqueueFile.open(q.getName());
            try {
                fill = existing(f, q, what);
            } catch (IOException | RuntimeException e) {
                f.close();
                throw e;
            }
        }
        try {
            f.owner(q.getMode(), q.getUid(), q.getGid());
            if (fill) {
                for (MqueueMessage m : q.getMessagesList()) {
                    f.send(m);
                }
            }
        } finally {
            f.close();
        }
        return created;
    }

    /** Whether the existing queue {@code f} is to be filled (empty), or is the saved one already. */
    private static boolean existing(MqueueFile f, Mqueue q, String what) throws IOException {
        long[] attr = f.attr();
        String clash = what + ": a queue of that name exists already";
        String remedy = ": remove it (mq_unlink /" + q.getName() + ") or stop the process that uses it";
        if (attr[1] != q.getMaxmsg() || attr[2] != q.getMsgsize()) {
            throw new IOException(clash + " with maxmsg " + attr[1] + " and msgsize " + attr[2] + " (the image has "
                    + q.getMaxmsg() + " and " + q.getMsgsize() + ")" + remedy);
        }
        if (attr[3] == 0) {
            return true;
        }
        MqueueStatus status = f.status();
        if (status.notifyPid() != 0) {
            throw new IOException(clash + ", with " + attr[3] + " messages and pid " + status.notifyPid()
                    + " registered for its notification" + remedy);
        }
        List<MqueueMessage> there = f.takeAll(attr[3], attr[2]);
        for (MqueueMessage m : there) {
            f.send(m);
        }
        if (!there.equals(q.getMessagesList())) {
            throw new IOException(clash + " and holds " + there.size() + " messages that differ from the image's "
                    + q.getMessagesCount() + remedy);
        }
        return false;
    }
}
