package dev.amber.kind.inet;

import dev.amber.kind.unix.NetnsSocket;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * What sock_diag tells of one inet socket that no getsockopt does: its shutdown state
 * (sk_shutdown, INET_DIAG_SHUTDOWN, which every answer carries) and its receive queue. The
 * table of the socket's protocol is dumped in the network namespace of the process
 * (NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, kernel net/ipv4/inet_diag.c; UDP and UDP-Lite by
 * udp_diag), and the socket is found by its inode.
 *
 * <p>Request, one netlink message (NLM_F_REQUEST | NLM_F_DUMP):
 * <pre>
 * nlmsghdr         len:u32  type:u16 = 20  flags:u16  seq:u32  pid:u32
 * inet_diag_req_v2 family:u8  protocol:u8  ext:u8  pad:u8  states:u32  sockid (48 bytes, zero)
 * </pre>
 * Each answer:
 * <pre>
 * nlmsghdr
 * inet_diag_msg    family:u8 state:u8 timer:u8 retrans:u8  sockid:48  expires:u32  rqueue:u32
 *                  wqueue:u32  uid:u32  inode:u32          (72 bytes)
 * rtattr*          len:u16 type:u16 payload, padded to 4; 8 SHUTDOWN u8
 * </pre>
 */
final class InetDiag {
    private static final int AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 02000000, NETLINK_SOCK_DIAG = 4;
    private static final int SOCK_DIAG_BY_FAMILY = 20, NLM_F_REQUEST = 1, NLM_F_DUMP = 0x300, NLMSG_ERROR = 2,
            NLMSG_DONE = 3, INET_DIAG_SHUTDOWN = 8, MSG = 72, HEADER = 16;

    /** One socket: sk_shutdown (RCV_SHUTDOWN 1, SEND_SHUTDOWN 2) and the bytes in its receive queue. */
    record Entry(int shutdown, long rqueue) {}

    private InetDiag() {}

    static byte[] request(int family, int protocol) {
        ByteBuffer b = ByteBuffer.allocate(HEADER + 56).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(HEADER + 56).putShort((short) SOCK_DIAG_BY_FAMILY).putShort((short) (NLM_F_REQUEST | NLM_F_DUMP))
                .putInt(1).putInt(0);
        b.put((byte) family).put((byte) protocol).put((byte) 0).put((byte) 0).putInt(-1);
        return b.array();
    }

    /** The socket {@code inode} of {@code family}/{@code protocol} in the namespace of {@code pid}, if listed. */
    static Optional<Entry> find(int pid, int family, int protocol, long inode) throws IOException {
        int fd = NetnsSocket.open(pid, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        int size = 64 * 1024;
        String what = "for socket:[" + inode + "] of pid " + pid;
        try (LocalBuffer b = new LocalBuffer(size)) {
            byte[] req = request(family, protocol);
            byte[] kernel = new byte[12];   // sockaddr_nl {family = AF_NETLINK, pid 0, groups 0}
            kernel[0] = AF_NETLINK;
            long to = b.put(256, kernel);
            ErrnoException.check(Syscall.raw(Arch.SYS_SENDTO, fd, b.put(0, req), req.length, 0, to, 12),
                    "sendto(inet_diag request)", what);
            Entry found = null;
            for (int round = 0; round < 100_000; round++) {
                long n = ErrnoException.check(Syscall.raw(Arch.SYS_RECVFROM, fd, b.at(0), size, 0, 0, 0),
                        "recvfrom(inet_diag)", what);
                Result r = parse(b.get(0, (int) n), inode);
                found = r.entry != null ? r.entry : found;
                if (r.done) {
                    return Optional.ofNullable(found);
                }
            }
            throw new IOException("inet_diag " + what + ": the dump did not end");
        } finally {
            Pidfd.close(fd);
        }
    }

    record Result(Entry entry, boolean done) {}

    /** The entry for {@code inode} in one datagram of answers, and whether it held NLMSG_DONE. */
    static Result parse(byte[] bytes, long inode) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        Entry found = null;
        for (int at = 0; at + HEADER <= bytes.length; ) {
            int len = b.getInt(at), type = b.getShort(at + 4) & 0xffff;
            if (len < HEADER || at + len > bytes.length) {
                throw new IOException("inet_diag: netlink message of length " + len + " at offset " + at);
            }
            if (type == NLMSG_DONE) {
                return new Result(found, true);
            }
            if (type == NLMSG_ERROR) {
                int errno = -b.getInt(at + HEADER);
                throw new IOException("inet_diag: the kernel answered errno " + errno + (errno == 2
                        ? " (ENOENT: udp_diag not built or not loaded: modprobe udp_diag)" : ""));
            }
            int msg = at + HEADER;
            if (type == SOCK_DIAG_BY_FAMILY && len >= HEADER + MSG && (b.getInt(msg + 68) & 0xffffffffL) == inode) {
                found = new Entry(shutdown(b, msg + MSG, at + len), b.getInt(msg + 56) & 0xffffffffL);
            }
            at += (len + 3) & ~3;
        }
        return new Result(found, false);
    }

    private static int shutdown(ByteBuffer b, int start, int end) {
        for (int at = start; at + 4 <= end; ) {
            int len = b.getShort(at) & 0xffff, attr = b.getShort(at + 2) & 0x3fff;
            if (len < 4 || at + len > end) {
                break;
            }
            if (attr == INET_DIAG_SHUTDOWN && len >= 5) {
                return b.get(at + 4) & 0xff;
            }
            at += (len + 3) & ~3;
        }
        return 0;
    }
}
