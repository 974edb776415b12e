package dev.amber.kind.unix;

import dev.amber.sys.Arch;
import dev.amber.sys.ProcessMemory;
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
 * once and then skipped (the kernel marks it peeked: a later checkpoint of a process left running
 * no longer sees it). Descriptors in flight (SCM_RIGHTS) are installed into the process by a
 * peek (the kernel gives the peeker its own references): they are left open for the caller to
 * save, then closed, and at restart sent again with their message. Credentials (SCM_CREDENTIALS,
 * delivered when the receiver has SO_PASSCRED) are kept per message and sent with it again.
 *
 * <pre>
 * msghdr  name:ptr  namelen:u32 pad  iov:ptr  iovlen:u64  control:ptr  controllen:u64  flags:i32 pad   (56 bytes)
 * iovec   base:ptr  len:u64
 * cmsghdr len:u64  level:i32  type:i32  data (SCM_RIGHTS: int fds; SCM_CREDENTIALS: pid, uid, gid)
 * </pre>
 */
final class UnixQueue {
    private static final int SOL_SOCKET = 1, SO_PEEK_OFF = 42, SCM_RIGHTS = 1, SCM_CREDENTIALS = 2, SCM_PIDFD = 4;
    private static final int MSG_OOB = 1, MSG_PEEK = 2, MSG_CTRUNC = 8, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40,
            MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int PROT_RW = 3, MAP_PRIVATE_ANON = 0x22;
    private static final int SOCK_STREAM = 1, RCV_SHUTDOWN = 1, EAGAIN = 11, ESRCH = 3;
    private static final int MSGHDR_AT = 0, IOV_AT = 64, NAME_AT = 128, VALUE_AT = 256, LENGTH_AT = 512,
            CONTROL_AT = 1024, CONTROL_SIZE = 2048;
    static final int DATA_AT = 4096, DATA_SIZE = Injector.SCRATCH_SIZE - DATA_AT;

    /** struct ucred as the receiver sees it. */
    record Credentials(int pid, int uid, int gid) {}

    /**
     * What a peek found: the messages in order, the credentials of each (null entries when the
     * receiver gets none), the number of descriptors in flight with them, and the descriptors
     * the peek installed in the process for them, by message (the caller closes them). A control
     * buffer too small for them all (MSG_CTRUNC) counts one more descriptor than installed.
     */
    record Peeked(List<byte[]> messages, List<Credentials> credentials, int descriptors, List<int[]> installed) {
        long bytes() {
            return messages.stream().mapToLong(m -> m.length).sum();
        }

        boolean truncated() {
            return installed.stream().mapToInt(a -> a.length).sum() != descriptors;
        }
    }

    private UnixQueue() {}

    /** Every message queued for socket {@code fd} of the process behind {@code inj}, left in place. */
    static Peeked peek(Injector inj, long fd, int type, int shutdown, String what) throws IOException {
        int old = getInt(inj, fd, SO_PEEK_OFF, "getsockopt(SO_PEEK_OFF) " + what);
        setInt(inj, fd, SO_PEEK_OFF, 0, "setsockopt(SO_PEEK_OFF, 0) " + what);
        List<byte[]> messages = new ArrayList<>();
        List<Credentials> credentials = new ArrayList<>();
        List<int[]> installed = new ArrayList<>();
        int[] descriptors = {0};
        List<Integer> fds = new ArrayList<>();
        Credentials first = null;
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
                Credentials creds = controlLength > 0
                        ? control(inj, (int) Math.min(controlLength, CONTROL_SIZE), descriptors, fds) : null;
                if ((flags & MSG_CTRUNC) != 0) {
                    descriptors[0]++;   // more in flight than the control buffer took
                }
                if (n == 0 && (type == SOCK_STREAM || (shutdown & RCV_SHUTDOWN) != 0) && partial.size() == 0) {
                    break;      // end of file, not an empty message
                }
                if (partial.size() == 0) {
                    first = creds;   // a long datagram's pieces: the first carries its credentials
                }
                partial.write(inj.get(DATA_AT, (int) n));
                if (type == SOCK_STREAM || (flags & MSG_TRUNC) == 0) {
                    messages.add(partial.toByteArray());
                    credentials.add(first);
                    installed.add(fds.stream().mapToInt(Integer::intValue).toArray());
                    fds.clear();
                    partial.reset();
                }
            }
        } catch (IOException | RuntimeException e) {
            close(inj, installed, fds);
            throw e;
        } finally {
            setInt(inj, fd, SO_PEEK_OFF, old, "setsockopt(SO_PEEK_OFF, " + old + ") " + what);
        }
        return new Peeked(messages, credentials, descriptors[0], installed);
    }

    /**
     * Whether a stream socket has an out-of-band byte waiting (MSG_OOB, kernel 5.15+): recv with
     * MSG_OOB | MSG_PEEK returns it without taking it, and EINVAL when there is none (or the
     * socket reads it inline, SO_OOBINLINE, when the peek sees it with the rest).
     */
    static boolean outOfBand(Injector inj, long fd) throws IOException {
        return inj.call(Arch.SYS_RECVFROM, fd, inj.scratch() + DATA_AT, 1, MSG_OOB | MSG_PEEK | MSG_DONTWAIT, 0, 0) >= 0;
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

    /** Closes the descriptors a peek installed in the process. */
    static void close(Injector inj, List<int[]> installed, List<Integer> more) throws IOException {
        for (int[] fds : installed) {
            for (int f : fds) {
                inj.call(Arch.SYS_CLOSE, f);
            }
        }
        for (int f : more) {
            inj.call(Arch.SYS_CLOSE, f);
        }
    }

    /**
     * Walks the control messages a peek returned; returns the credentials, if any, counts the
     * descriptors received in {@code descriptors[0]} and adds the numbers the peek installed them
     * at to {@code fds} (they stay open: the caller saves and closes them).
     */
    private static Credentials control(Injector inj, int length, int[] descriptors, List<Integer> fds)
            throws IOException {
        ByteBuffer c = ByteBuffer.wrap(inj.get(CONTROL_AT, length)).order(ByteOrder.LITTLE_ENDIAN);
        Credentials credentials = null;
        for (int at = 0; at + 16 <= length; ) {
            long len = c.getLong(at);
            int level = c.getInt(at + 8), type = c.getInt(at + 12);
            if (len < 16 || at + len > length) {
                break;
            }
            if (level == SOL_SOCKET && type == SCM_RIGHTS) {
                for (int i = at + 16; i + 4 <= at + len; i += 4) {
                    fds.add(c.getInt(i));
                    descriptors[0]++;
                }
            } else if (level == SOL_SOCKET && type == SCM_PIDFD && len >= 20) {
                inj.call(Arch.SYS_CLOSE, c.getInt(at + 16));   // made for this peek (SO_PASSPIDFD): not in flight
            } else if (level == SOL_SOCKET && type == SCM_CREDENTIALS && len >= 28) {
                credentials = new Credentials(c.getInt(at + 16), c.getInt(at + 20), c.getInt(at + 24));
            }
            at += (int) ((len + 7) & ~7L);
        }
        return credentials;
    }

    /**
     * Sends {@code messages} from {@code sender} (a socket of the process behind {@code inj})
     * to {@code to} (a name; null: the sender's peer), one sendmsg per message (streams: per
     * piece of at most {@link #DATA_SIZE} bytes; a longer message goes through a mapping of its
     * own in the process), without blocking. The sender's SO_SNDBUF is
     * raised for the time of the sends (unix data counts against the sender's buffer until it
     * is read) and put back after.
     */
    static void fill(Injector inj, long sender, byte[] to, List<byte[]> messages, List<Credentials> credentials,
            List<long[]> rights, int type, String what) throws IOException {
        long total = messages.stream().mapToLong(m -> m.length + 1024L).sum();
        int oldSndbuf = getInt(inj, sender, UnixOptions.SO_SNDBUF, "getsockopt(SO_SNDBUF) " + what);
        boolean raised = total * 2 > oldSndbuf;
        if (raised) {
            UnixOptions.setBuffer(inj, sender, UnixOptions.SO_SNDBUF, (int) Math.min(Integer.MAX_VALUE / 2, total * 2 + (1 << 16)), what);
        }
        try {
            for (int i = 0; i < messages.size(); i++) {
                byte[] m = messages.get(i);
                Credentials creds = i < credentials.size() ? credentials.get(i) : null;
                long[] fds = i < rights.size() ? rights.get(i) : new long[0];
                if (type == SOCK_STREAM) {
                    for (int off = 0; off < m.length; off += DATA_SIZE) {   // descriptors go with the first piece (never empty)
                        send(inj, sender, to, java.util.Arrays.copyOfRange(m, off, Math.min(m.length, off + DATA_SIZE)),
                                creds, off == 0 ? fds : new long[0], what);
                    }
                } else {
                    send(inj, sender, to, m, creds, fds, what);
                }
            }
        } finally {
            if (raised) {
                UnixOptions.setBuffer(inj, sender, UnixOptions.SO_SNDBUF, oldSndbuf / 2, what);
            }
        }
    }

    /**
     * One sendmsg. Saved credentials go along as SCM_CREDENTIALS (the restoring puppet is root,
     * so any uid and gid, and any pid that exists, are allowed); a sender pid that no longer
     * exists (ESRCH) is replaced by the puppet's own.
     */
    private static void send(Injector inj, long sender, byte[] to, byte[] data, Credentials creds, long[] fds,
            String what) throws IOException {
        long base = inj.scratch();
        long big = 0, bigSize = (data.length + 4095L) & ~4095L;
        if (data.length > DATA_SIZE) {   // a datagram or record longer than the scratch area: a mapping of its own
            big = inj.check("mmap " + data.length + " bytes for a queued message " + what, Arch.SYS_MMAP, 0, bigSize,
                    PROT_RW, MAP_PRIVATE_ANON, -1, 0);
        }
        try {
            sendVia(inj, base, big, sender, to, data, creds, fds, what);
        } finally {
            if (big != 0) {
                inj.call(Arch.SYS_MUNMAP, big, bigSize);
            }
        }
    }

    private static void sendVia(Injector inj, long base, long big, long sender, byte[] to, byte[] data, Credentials creds,
            long[] fds, String what) throws IOException {
        byte[] sa = to == null ? null : UnixName.sockaddr(to);
        if (sa != null) {
            inj.put(NAME_AT, sa);
        }
        ByteBuffer h = ByteBuffer.allocate(56).order(ByteOrder.LITTLE_ENDIAN);
        int rightsLength = fds.length == 0 ? 0 : (16 + 4 * fds.length + 7) & ~7;
        int controlLength = (creds == null ? 0 : 32) + rightsLength;
        h.putLong(sa == null ? 0 : base + NAME_AT).putInt(sa == null ? 0 : sa.length).putInt(0).putLong(base + IOV_AT)
                .putLong(1).putLong(controlLength == 0 ? 0 : base + CONTROL_AT).putLong(controlLength).putInt(0)
                .putInt(0);
        inj.put(MSGHDR_AT, h.array());
        inj.put(IOV_AT, iovec(big != 0 ? big : base + DATA_AT, data.length));
        if (big != 0) {
            ProcessMemory.write(inj.tracee().tid(), big, data);
        } else if (data.length > 0) {
            inj.put(DATA_AT, data);
        }
        if (creds != null) {
            inj.put(CONTROL_AT, ucred(creds.pid(), creds));
        }
        if (fds.length > 0) {
            inj.put(CONTROL_AT + (creds == null ? 0 : 32), rights(fds, rightsLength));
        }
        long n = inj.call(Arch.SYS_SENDMSG, sender, base + MSGHDR_AT, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n == -ESRCH && creds != null) {
            inj.put(CONTROL_AT, ucred(inj.tracee().tid(), creds));
            n = inj.call(Arch.SYS_SENDMSG, sender, base + MSGHDR_AT, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
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

    /** cmsghdr {len 16 + 4n, SOL_SOCKET, SCM_RIGHTS} + the n descriptors, padded to CMSG_SPACE. */
    private static byte[] rights(long[] fds, int space) {
        ByteBuffer b = ByteBuffer.allocate(space).order(ByteOrder.LITTLE_ENDIAN).putLong(16 + 4L * fds.length)
                .putInt(SOL_SOCKET).putInt(SCM_RIGHTS);
        for (long f : fds) {
            b.putInt((int) f);
        }
        return b.array();
    }

    /** cmsghdr {len 28, SOL_SOCKET, SCM_CREDENTIALS} + struct ucred, padded to CMSG_SPACE (32). */
    private static byte[] ucred(int pid, Credentials c) {
        return ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN).putLong(28).putInt(SOL_SOCKET)
                .putInt(SCM_CREDENTIALS).putInt(pid).putInt(c.uid()).putInt(c.gid()).array();
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
