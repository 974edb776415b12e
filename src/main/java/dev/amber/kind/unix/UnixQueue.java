package dev.amber.kind.unix;

import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The data waiting in a unix socket's receive queue, read without taking it (checkpoint) and
 * written back through a socket that may send to it (restart). Both run as calls injected into
 * the process that holds the socket.
 *
 * <p>Reading: SO_PEEK_OFF is set to 0 and recvmsg(MSG_PEEK) then returns the queue piece by piece,
 * each call moving the peek offset past what it returned; the old SO_PEEK_OFF (-1: off) is put
 * back after. A datagram or seqpacket record longer than the buffer comes in several pieces,
 * MSG_TRUNC set on all but the last, so boundaries are kept. A zero-length datagram is returned
 * once and then skipped (the kernel marks it peeked). Descriptors in flight (SCM_RIGHTS) would be
 * installed into the process by a peek: they are closed again at once and the socket is refused.
 *
 * <pre>
 * msghdr  name:ptr  namelen:u32 pad  iov:ptr  iovlen:u64  control:ptr  controllen:u64  flags:i32 pad   (56 bytes)
 * iovec   base:ptr  len:u64
 * cmsghdr len:u64  level:i32  type:i32  data (SCM_RIGHTS: int fds; SCM_CREDENTIALS: pid, uid, gid)
 * </pre>
 */
final class UnixQueue {
    private static final int SOL_SOCKET = 1, SO_PEEK_OFF = 42, SCM_RIGHTS = 1, SCM_CREDENTIALS = 2;
    private static final int MSG_PEEK = 2, MSG_CTRUNC = 8, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40,
            MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int SOCK_STREAM = 1, RCV_SHUTDOWN = 1, EAGAIN = 11;
    private static final int MSGHDR_AT = 0, IOV_AT = 64, NAME_AT = 128, VALUE_AT = 256, LENGTH_AT = 512,
            CONTROL_AT = 1024, CONTROL_SIZE = 2048;
    static final int DATA_AT = 4096, DATA_SIZE = Injector.SCRATCH_SIZE - DATA_AT;

    /** What a peek found: the messages in order, and what was in flight with them. */
    record Peeked(List<byte[]> messages, int descriptors, boolean credentials) {
        long bytes() {
            return messages.stream().mapToLong(m -> m.length).sum();
        }
    }

    private UnixQueue() {}

    /** Every message queued for socket {@code fd} of the process behind {@code inj}, left in place. */
    static Peeked peek(Injector inj, long fd, int type, int shutdown, String what) throws IOException {
        int old = getInt(inj, fd, SO_PEEK_OFF, "getsockopt(SO_PEEK_OFF) " + what);
        setInt(inj, fd, SO_PEEK_OFF, 0, "setsockopt(SO_PEEK_OFF, 0) " + what);
        List<byte[]> messages = new ArrayList<>();
        int descriptors = 0;
        boolean credentials = false;
        try {
            ByteArrayOutputStream partial = new ByteArrayOutputStream();
            for (int round = 0; round < 1_000_000; round++) {
                long n = recvPeek(inj, fd);
                if (n == -EAGAIN) {
                    break;
                }
                dev.amber.sys.ErrnoException.check(n, "recvmsg(MSG_PEEK) " + what, "in pid " + inj.tracee().tid());
                ByteBuffer h = ByteBuffer.wrap(inj.get(MSGHDR_AT, 56)).order(ByteOrder.LITTLE_ENDIAN);
                int flags = h.getInt(48);
                long controlLength = h.getLong(40);
                if (controlLength > 0) {
                    int[] found = control(inj, (int) Math.min(controlLength, CONTROL_SIZE), what);
                    descriptors += found[0];
                    credentials |= found[1] != 0;
                }
                if ((flags & MSG_CTRUNC) != 0) {
                    descriptors++;   // more in flight than the control buffer took
                }
                if (n == 0 && (type == SOCK_STREAM || (shutdown & RCV_SHUTDOWN) != 0) && partial.size() == 0) {
                    break;      // end of file, not an empty message
                }
                partial.write(inj.get(DATA_AT, (int) n));
                if (type == SOCK_STREAM || (flags & MSG_TRUNC) == 0) {
                    messages.add(partial.toByteArray());
                    partial.reset();
                }
            }
        } finally {
            setInt(inj, fd, SO_PEEK_OFF, old, "setsockopt(SO_PEEK_OFF, " + old + ") " + what);
        }
        return new Peeked(messages, descriptors, credentials);
    }

    private static long recvPeek(Injector inj, long fd) throws IOException {
        long base = inj.scratch();
        ByteBuffer h = ByteBuffer.allocate(56).order(ByteOrder.LITTLE_ENDIAN);
        h.putLong(0).putInt(0).putInt(0).putLong(base + IOV_AT).putLong(1).putLong(base + CONTROL_AT)
                .putLong(CONTROL_SIZE).putInt(0).putInt(0);
        inj.put(MSGHDR_AT, h.array());
        inj.put(IOV_AT, iovec(base + DATA_AT, DATA_SIZE));
        return inj.call(Arch.SYS_RECVMSG, fd, base + MSGHDR_AT, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    }

    private static byte[] iovec(long base, long length) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(base).putLong(length).array();
    }

    /**
     * Walks the control messages a peek returned: {descriptors received, credentials seen}. The
     * descriptors it installed in the process are closed again.
     */
    private static int[] control(Injector inj, int length, String what) throws IOException {
        ByteBuffer c = ByteBuffer.wrap(inj.get(CONTROL_AT, length)).order(ByteOrder.LITTLE_ENDIAN);
        int descriptors = 0, credentials = 0;
        for (int at = 0; at + 16 <= length; ) {
            long len = c.getLong(at);
            int level = c.getInt(at + 8), type = c.getInt(at + 12);
            if (len < 16 || at + len > length) {
                break;
            }
            if (level == SOL_SOCKET && type == SCM_RIGHTS) {
                for (int i = at + 16; i + 4 <= at + len; i += 4) {
                    inj.call(Arch.SYS_CLOSE, c.getInt(i));
                    descriptors++;
                }
            } else if (level == SOL_SOCKET && type == SCM_CREDENTIALS) {
                credentials++;
            }
            at += (int) ((len + 7) & ~7L);
        }
        return new int[] {descriptors, credentials};
    }

    /**
     * Sends {@code messages} from {@code sender} (a socket of the process behind {@code inj})
     * to {@code to} (a name; null: the sender's peer), one sendmsg per message (streams: per
     * piece of at most {@link #DATA_SIZE} bytes), without blocking. The sender's SO_SNDBUF is
     * raised for the time of the sends (unix data counts against the sender's buffer until it
     * is read) and put back after.
     */
    static void fill(Injector inj, long sender, byte[] to, List<byte[]> messages, int type, String what)
            throws IOException {
        long total = messages.stream().mapToLong(m -> m.length + 1024L).sum();
        int oldSndbuf = getInt(inj, sender, UnixOptions.SO_SNDBUF, "getsockopt(SO_SNDBUF) " + what);
        boolean raised = total * 2 > oldSndbuf;
        if (raised) {
            UnixOptions.setBuffer(inj, sender, UnixOptions.SO_SNDBUF, (int) Math.min(Integer.MAX_VALUE / 2, total * 2 + (1 << 16)), what);
        }
        try {
            for (byte[] m : messages) {
                if (type == SOCK_STREAM) {
                    for (int off = 0; off < m.length; off += DATA_SIZE) {
                        send(inj, sender, to, java.util.Arrays.copyOfRange(m, off, Math.min(m.length, off + DATA_SIZE)), what);
                    }
                } else {
                    send(inj, sender, to, m, what);
                }
            }
        } finally {
            if (raised) {
                UnixOptions.setBuffer(inj, sender, UnixOptions.SO_SNDBUF, oldSndbuf / 2, what);
            }
        }
    }

    private static void send(Injector inj, long sender, byte[] to, byte[] data, String what) throws IOException {
        if (data.length > DATA_SIZE) {
            throw new IOException(what + ": a message of " + data.length + " bytes is longer than Amber can put back ("
                    + DATA_SIZE + ")");
        }
        long base = inj.scratch();
        byte[] sa = to == null ? null : UnixName.sockaddr(to);
        if (sa != null) {
            inj.put(NAME_AT, sa);
        }
        ByteBuffer h = ByteBuffer.allocate(56).order(ByteOrder.LITTLE_ENDIAN);
        h.putLong(sa == null ? 0 : base + NAME_AT).putInt(sa == null ? 0 : sa.length).putInt(0).putLong(base + IOV_AT)
                .putLong(1).putLong(0).putLong(0).putInt(0).putInt(0);
        inj.put(MSGHDR_AT, h.array());
        inj.put(IOV_AT, iovec(base + DATA_AT, data.length));
        if (data.length > 0) {
            inj.put(DATA_AT, data);
        }
        long n = inj.call(Arch.SYS_SENDMSG, sender, base + MSGHDR_AT, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n == -EAGAIN) {
            throw new IOException(what + ": putting the queued data back: the socket takes no more (EAGAIN)"
                    + (to != null ? "; net.unix.max_dgram_qlen on this host may be lower than where it was checkpointed"
                    : ""));
        }
        dev.amber.sys.ErrnoException.check(n, "sendmsg (" + data.length + " queued bytes) " + what,
                "in pid " + inj.tracee().tid());
        if (n != data.length) {
            throw new IOException(what + ": sendmsg put back " + n + " of " + data.length + " queued bytes");
        }
    }

    static int getInt(Injector inj, long fd, int option, String name) throws IOException {
        inj.put(LENGTH_AT, le(4));
        inj.check(name, Arch.SYS_GETSOCKOPT, fd, SOL_SOCKET, option, inj.scratch() + VALUE_AT, inj.scratch() + LENGTH_AT);
        return ByteBuffer.wrap(inj.get(VALUE_AT, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    static void setInt(Injector inj, long fd, int option, int value, String name) throws IOException {
        inj.check(name, Arch.SYS_SETSOCKOPT, fd, SOL_SOCKET, option, inj.put(VALUE_AT, le(value)), 4);
    }

    static byte[] le(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }
}
