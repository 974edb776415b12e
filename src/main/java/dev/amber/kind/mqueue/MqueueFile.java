package dev.amber.kind.mqueue;

import dev.amber.image.proto.MqueueMessage;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A message queue open in Amber itself, read-write and non-blocking: to read a queue of the tree
 * (whose own descriptor may be write-only) and to make one at restart. {@code struct mq_attr} is
 * four longs, mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs, and four reserved.
 */
final class MqueueFile implements AutoCloseable {
    static final int O_RDWR = 2, O_CREAT = 0100, O_EXCL = 0200, O_NONBLOCK = 04000, O_CLOEXEC = 02000000;
    private static final int AT_FDCWD = -100, ATTR = 0, STATUS = 64, NAME = 512, PRIO = 1024, DATA = 2048;

    final int fd;
    private LocalBuffer buf;

    private MqueueFile(int fd, LocalBuffer buf) {
        this.fd = fd;
        this.buf = buf;
    }

    private static LocalBuffer buffer(long msgsize) {
        return new LocalBuffer(DATA + Math.max(msgsize, 4096));
    }

    /** A new open file description of descriptor {@code fd} of {@code pid} (through /proc), read-write. */
    static MqueueFile reopen(int pid, int fd) throws IOException {
        LocalBuffer b = buffer(0);
        String path = "/proc/" + pid + "/fd/" + fd;
        long r = Syscall.raw(Arch.SYS_OPENAT, AT_FDCWD, b.putString(NAME, path), O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
        if (r < 0) {
            b.close();
            throw new ErrnoException("open", path, (int) -r);
        }
        return new MqueueFile((int) r, b);
    }

    /** Removes queue {@code /name} (a restart that made it failed). */
    static void unlink(String name) {
        try (LocalBuffer b = new LocalBuffer(name.length() + 1L)) {
            Syscall.raw(Arch.SYS_MQ_UNLINK, b.putString(0, name), 0, 0);
        }
    }

    /** Creates queue {@code /name}; null if it exists already. */
    static MqueueFile create(String name, long maxmsg, long msgsize, int mode) throws IOException {
        LocalBuffer b = buffer(msgsize);
        b.putLong(ATTR, 0);
        b.putLong(ATTR + 8, maxmsg);
        b.putLong(ATTR + 16, msgsize);
        b.putLong(ATTR + 24, 0);
        long r = Syscall.raw(Arch.SYS_MQ_OPEN, b.putString(NAME, name), O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK | O_CLOEXEC,
                mode & 07777, b.at(ATTR));
        if (r == -Errno.EEXIST) {
            b.close();
            return null;
        }
        if (r < 0) {
            b.close();
            throw new IOException("cannot create POSIX message queue /" + name + " (maxmsg " + maxmsg + ", msgsize "
                    + msgsize + "): " + Errno.describe((int) -r) + (r == -Errno.EINVAL
                    ? " (above /proc/sys/fs/mqueue/msg_max or msgsize_max here: raise them)" : ""));
        }
        return new MqueueFile((int) r, b);
    }

    /** Opens the existing queue {@code /name} read-write. */
    static MqueueFile open(String name) throws IOException {
        LocalBuffer b = buffer(0);
        long r = Syscall.raw(Arch.SYS_MQ_OPEN, b.putString(NAME, name), O_RDWR | O_NONBLOCK | O_CLOEXEC, 0, 0);
        if (r < 0) {
            b.close();
            throw new ErrnoException("mq_open", "/" + name, (int) -r);
        }
        return new MqueueFile((int) r, b);
    }

    /** Makes room for messages of {@code msgsize} bytes. */
    void fit(long msgsize) {
        if (buf.size() < DATA + msgsize) {
            buf.close();
            buf = buffer(msgsize);
        }
    }

    /** {mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs}. */
    long[] attr() throws ErrnoException {
        Syscall.check("mq_getsetattr", "message queue", Arch.SYS_MQ_GETSETATTR, fd, 0, buf.at(ATTR));
        return new long[] {buf.getLong(ATTR), buf.getLong(ATTR + 8), buf.getLong(ATTR + 16), buf.getLong(ATTR + 24)};
    }

    /** The queue file's status line (read once: the file offset moves on). */
    MqueueStatus status() throws ErrnoException {
        long n = Syscall.check("read", "message queue status", Arch.SYS_READ, fd, buf.at(STATUS), NAME - STATUS);
        return MqueueStatus.parse(new String(buf.get(STATUS, (int) n), StandardCharsets.US_ASCII));
    }

    /** Takes every message off the queue, highest priority first, oldest first within one. */
    List<MqueueMessage> takeAll(long count, long msgsize) throws ErrnoException {
        fit(msgsize);
        List<MqueueMessage> out = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            long n = Syscall.raw(Arch.SYS_MQ_TIMEDRECEIVE, fd, buf.at(DATA), msgsize, buf.at(PRIO), 0, 0);
            if (n == -Errno.EAGAIN) {
                break;   // fewer than mq_curmsgs said: someone outside the tree took one
            }
            ErrnoException.check(n, "mq_timedreceive", "message queue");
            out.add(MqueueMessage.newBuilder().setPriority(buf.getInt(PRIO))
                    .setData(com.google.protobuf.ByteString.copyFrom(buf.get(DATA, (int) n))).build());
        }
        return out;
    }

    void send(MqueueMessage m) throws ErrnoException {
        byte[] data = m.getData().toByteArray();
        fit(data.length);
        buf.put(DATA, data);
        Syscall.check("mq_timedsend", "message queue", Arch.SYS_MQ_TIMEDSEND, fd, buf.at(DATA), data.length,
                m.getPriority(), 0, 0);
    }

    void owner(int mode, int uid, int gid) throws ErrnoException {
        Syscall.check("fchown", "message queue", Arch.SYS_FCHOWN, fd, uid, gid, 0);
        Syscall.check("fchmod", "message queue", Arch.SYS_FCHMOD, fd, mode & 07777, 0);
    }

    @Override
    public void close() {
        Pidfd.close(fd);
        buf.close();
    }
}
