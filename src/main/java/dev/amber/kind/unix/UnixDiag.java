package dev.amber.kind.unix;

import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Every unix socket of a network namespace as sock_diag describes it (NETLINK_SOCK_DIAG,
 * SOCK_DIAG_BY_FAMILY for AF_UNIX, kernel net/unix/diag.c). The netlink socket is made inside a
 * process of the tree by injected calls, so the table is that process's network namespace's.
 *
 * <p>Request, one netlink message (NLM_F_REQUEST | NLM_F_DUMP):
 * <pre>
 * nlmsghdr      len:u32  type:u16 = 20  flags:u16  seq:u32  pid:u32
 * unix_diag_req family:u8 = 1  protocol:u8  pad:u16  states:u32  ino:u32  show:u32  cookie:u32[2]
 * </pre>
 * Each answer:
 * <pre>
 * nlmsghdr      (type 3 NLMSG_DONE ends the dump, 2 NLMSG_ERROR carries -errno)
 * unix_diag_msg family:u8  type:u8  state:u8  pad:u8  ino:u32  cookie:u32[2]
 * rtattr*       len:u16  type:u16  payload, each padded to 4 bytes:
 *               0 NAME sun_path bytes   1 VFS {ino:u32, dev:u32}: a path name's socket file (dev as
 *               the kernel keeps it, major:12 minor:20, not stat's st_dev encoding)
 *               2 PEER u32 inode   3 ICONS u32[] (client inodes, queue order)
 *               4 RQLEN {rqueue:u32, wqueue:u32}   6 SHUTDOWN u8
 * </pre>
 * RQLEN is, for a listener, {queued connections, backlog}; for any other socket {bytes to read
 * (datagrams: the first one), bytes it sent that nobody has read yet}. PEER is absent for a
 * socket never connected and 0 when the peer has been closed.
 */
final class UnixDiag {
    static final int NAME = 0, VFS = 1, PEER = 2, ICONS = 3, RQLEN = 4, SHUTDOWN = 6;
    private static final int SHOW_NAME = 1, SHOW_VFS = 2, SHOW_PEER = 4, SHOW_ICONS = 8, SHOW_RQLEN = 0x10;
    private static final int AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 02000000, NETLINK_SOCK_DIAG = 4;
    private static final int SOCK_DIAG_BY_FAMILY = 20, NLM_F_REQUEST = 1, NLM_F_DUMP = 0x300, NLMSG_ERROR = 2,
            NLMSG_DONE = 3, AF_UNIX = 1;
    static final int TCP_ESTABLISHED = 1, TCP_CLOSE = 7, TCP_LISTEN = 10;

    /** One socket. {@code peer} is null when never connected, 0 when the peer was closed. */
    record Entry(long inode, int type, int state, byte[] name, Long peer, long[] icons, long rqueue, long wqueue,
            int shutdown, long fileInode, long fileDev) {
        boolean listening() {
            return state == TCP_LISTEN;
        }

        @Override
        public String toString() {
            return "socket:[" + inode + "] type " + type + " state " + state + " name " + UnixName.display(name)
                    + " peer " + peer + " icons " + Arrays.toString(icons) + " rq " + rqueue + " wq " + wqueue
                    + " shutdown " + shutdown;
        }
    }

    /** A namespace's sockets by inode, and client inode → the listener whose accept queue holds it. */
    record Table(Map<Long, Entry> entries, Map<Long, Long> queuedOn) {
        static Table of(Map<Long, Entry> entries) {
            return new Table(entries, UnixDiag.queuedOn(entries));
        }

        Entry get(long inode) {
            return entries.get(inode);
        }
    }

    private UnixDiag() {}

    static byte[] request() {
        ByteBuffer b = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(40).putShort((short) SOCK_DIAG_BY_FAMILY).putShort((short) (NLM_F_REQUEST | NLM_F_DUMP)).putInt(1)
                .putInt(0);
        b.put((byte) AF_UNIX).put((byte) 0).putShort((short) 0).putInt(-1).putInt(0)
                .putInt(SHOW_NAME | SHOW_VFS | SHOW_PEER | SHOW_ICONS | SHOW_RQLEN).putInt(-1).putInt(-1);
        return b.array();
    }

    /**
     * Reads the whole table of the network namespace of {@code pid} through a netlink socket of
     * Amber's own, made in that namespace ({@link NetnsSocket}): nothing is injected into the
     * process, whose descriptor table may have no free slot (every one up to RLIMIT_NOFILE in use).
     */
    static Table read(int pid) throws IOException {
        int fd = NetnsSocket.open(pid, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        int size = 64 * 1024;
        try (LocalBuffer b = new LocalBuffer(size)) {
            byte[] req = request();
            byte[] kernel = new byte[12];   // sockaddr_nl {family = AF_NETLINK, pid 0, groups 0}
            kernel[0] = AF_NETLINK;
            long to = b.put(64, kernel);
            ErrnoException.check(Syscall.raw(Arch.SYS_SENDTO, fd, b.put(0, req), req.length, 0, to, 12),
                    "sendto(sock_diag request)", "for pid " + pid);
            Map<Long, Entry> out = new HashMap<>();
            for (int round = 0; round < 100_000; round++) {
                long n = ErrnoException.check(Syscall.raw(Arch.SYS_RECVFROM, fd, b.at(0), size, 0, 0, 0),
                        "recvfrom(sock_diag)", "for pid " + pid);
                if (parse(b.get(0, (int) n), out)) {
                    return Table.of(out);
                }
            }
            throw new IOException("sock_diag: the dump did not end");
        } finally {
            Pidfd.close(fd);
        }
    }

    /**
     * Adds the sockets of one datagram of netlink messages to {@code out}; true when it held
     * NLMSG_DONE (the dump is complete).
     */
    static boolean parse(byte[] bytes, Map<Long, Entry> out) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int at = 0;
        while (at + 16 <= bytes.length) {
            int len = b.getInt(at), type = b.getShort(at + 4) & 0xffff;
            if (len < 16 || at + len > bytes.length) {
                throw new IOException("sock_diag: netlink message of length " + len + " at offset " + at + " of "
                        + bytes.length);
            }
            if (type == NLMSG_DONE) {
                return true;
            }
            if (type == NLMSG_ERROR) {
                int errno = -b.getInt(at + 16);
                throw new IOException("sock_diag: the kernel answered errno " + errno
                        + (errno == 2 ? " (ENOENT: unix_diag not built or not loaded: modprobe unix_diag)" : ""));
            }
            if (type == SOCK_DIAG_BY_FAMILY && len >= 32) {
                Entry e = entry(b, at + 16, at + len);
                out.put(e.inode(), e);
            }
            at += align(len);
        }
        return false;
    }

    private static Entry entry(ByteBuffer b, int start, int end) {
        int type = b.get(start + 1) & 0xff, state = b.get(start + 2) & 0xff;
        long inode = b.getInt(start + 4) & 0xffffffffL;
        byte[] name = new byte[0];
        Long peer = null;
        long[] icons = new long[0];
        long rq = 0, wq = 0;
        int shutdown = 0;
        long fileInode = 0, fileDev = 0;
        for (int at = start + 16; at + 4 <= end; ) {
            int len = b.getShort(at) & 0xffff, attr = b.getShort(at + 2) & 0x3fff;
            if (len < 4 || at + len > end) {
                break;
            }
            int data = at + 4, size = len - 4;
            switch (attr) {
                case NAME -> {
                    name = new byte[size];
                    b.get(data, name);
                }
                case PEER -> peer = b.getInt(data) & 0xffffffffL;
                case ICONS -> {
                    icons = new long[size / 4];
                    for (int i = 0; i < icons.length; i++) {
                        icons[i] = b.getInt(data + 4 * i) & 0xffffffffL;
                    }
                }
                case RQLEN -> {
                    rq = b.getInt(data) & 0xffffffffL;
                    wq = b.getInt(data + 4) & 0xffffffffL;
                }
                case SHUTDOWN -> shutdown = b.get(data) & 0xff;
                case VFS -> {
                    fileInode = b.getInt(data) & 0xffffffffL;
                    fileDev = b.getInt(data + 4) & 0xffffffffL;
                }
                default -> { }
            }
            at += align(len);
        }
        return new Entry(inode, type, state, name, peer, icons, rq, wq, shutdown, fileInode, fileDev);
    }

    private static int align(int len) {
        return (len + 3) & ~3;
    }

    /** Client inode → the listener whose accept queue holds its connection. */
    static Map<Long, Long> queuedOn(Map<Long, Entry> table) {
        Map<Long, Long> out = new HashMap<>();
        for (Entry e : table.values()) {
            if (e.listening()) {
                for (long c : e.icons()) {
                    out.put(c, e.inode());
                }
            }
        }
        return out;
    }
}
