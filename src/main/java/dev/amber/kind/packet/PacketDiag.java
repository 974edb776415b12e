package dev.amber.kind.packet;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.PacketMembership;
import dev.amber.image.proto.PacketRing;
import dev.amber.kind.unix.NetnsSocket;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What packet_diag tells of an AF_PACKET socket that getsockopt does not: its memberships, its
 * rings' geometry, the copy threshold and the bound interface (kernel net/packet/diag.c). The
 * table of the network namespace of the process is dumped through a netlink socket of Amber's
 * own made there, and the socket is found by its inode (the dump has no inode filter).
 *
 * <p>Request: nlmsghdr (type 20 SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP), then
 * <pre>
 * packet_diag_req   family:u8 = 17  protocol:u8  pad:u16  ino:u32  show:u32  cookie:u32[2]
 * </pre>
 * Each answer: nlmsghdr, then
 * <pre>
 * packet_diag_msg   family:u8  type:u8  num:u16 (protocol, host order)  ino:u32  cookie:u32[2]
 * rtattr*           0 INFO {index, version, reserve, copy_thresh, tstamp, flags: u32}
 *                   1 MCLIST {index:u32 count:u32 type:u16 alen:u16 addr:u8[32]}*
 *                   2 RX_RING, 3 TX_RING {block_size, block_nr, frame_size, frame_nr,
 *                                         retire_tmo, sizeof_priv, features: u32}
 *                   4 FANOUT u32
 * </pre>
 */
final class PacketDiag {
    private static final int AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 02000000, NETLINK_SOCK_DIAG = 4;
    private static final int SOCK_DIAG_BY_FAMILY = 20, NLM_F_REQUEST = 1, NLM_F_DUMP = 0x300, NLMSG_ERROR = 2,
            NLMSG_DONE = 3, AF_PACKET = 17, HEADER = 16, MSG = 16;
    private static final int SHOW_INFO = 1, SHOW_MCLIST = 2, SHOW_RING_CFG = 4;
    private static final int INFO = 0, MCLIST = 1, RX_RING = 2, TX_RING = 3, MCLIST_SIZE = 44;

    /** One socket as packet_diag shows it; a ring is null when the socket has none. */
    record Entry(int type, int protocol, int ifindex, int copyThresh, List<PacketMembership> memberships,
            PacketRing rxRing, PacketRing txRing) {}

    private PacketDiag() {}

    static byte[] request() {
        ByteBuffer b = ByteBuffer.allocate(HEADER + 20).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(HEADER + 20).putShort((short) SOCK_DIAG_BY_FAMILY).putShort((short) (NLM_F_REQUEST | NLM_F_DUMP))
                .putInt(1).putInt(0);
        b.put((byte) AF_PACKET).put((byte) 0).putShort((short) 0).putInt(0)
                .putInt(SHOW_INFO | SHOW_MCLIST | SHOW_RING_CFG).putInt(-1).putInt(-1);
        return b.array();
    }

    /** The socket {@code inode} in the network namespace of {@code pid}, if packet_diag lists it. */
    static Optional<Entry> find(int pid, long inode) throws IOException {
        int fd = NetnsSocket.open(pid, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        int size = 64 * 1024;
        String what = "for socket:[" + inode + "] of pid " + pid;
        try (LocalBuffer b = new LocalBuffer(size)) {
            byte[] req = request();
            byte[] kernel = new byte[12];   // sockaddr_nl {family = AF_NETLINK, pid 0, groups 0}
            kernel[0] = AF_NETLINK;
            long to = b.put(256, kernel);
            ErrnoException.check(Syscall.raw(Arch.SYS_SENDTO, fd, b.put(0, req), req.length, 0, to, 12),
                    "sendto(packet_diag request)", what);
            Entry found = null;
            for (int round = 0; round < 100_000; round++) {
                long n = ErrnoException.check(Syscall.raw(Arch.SYS_RECVFROM, fd, b.at(0), size, 0, 0, 0),
                        "recvfrom(packet_diag)", what);
                byte[] bytes = b.get(0, (int) n);
                Entry e = parse(bytes, inode);
                found = e != null ? e : found;
                if (done(bytes)) {
                    return Optional.ofNullable(found);
                }
            }
            throw new IOException("packet_diag " + what + ": the dump did not end");
        } finally {
            Pidfd.close(fd);
        }
    }

    /** Whether a datagram of answers ends the dump; throws on an error answer. */
    static boolean done(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 0; at + HEADER <= bytes.length; at += align(b.getInt(at))) {
            int len = b.getInt(at), type = b.getShort(at + 4) & 0xffff;
            if (len < HEADER) {
                throw new IOException("packet_diag: netlink message of length " + len + " at offset " + at);
            }
            if (type == NLMSG_ERROR) {
                int errno = -b.getInt(at + HEADER);
                throw new IOException("packet_diag: the kernel answered errno " + errno
                        + (errno == 2 ? " (ENOENT: packet_diag not built or not loaded: modprobe af_packet_diag)" : ""));
            }
            if (type == NLMSG_DONE) {
                return true;
            }
        }
        return false;
    }

    /** The entry for {@code inode} among one datagram of answers, or null. */
    static Entry parse(byte[] bytes, long inode) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 0; at + HEADER <= bytes.length; ) {
            int len = b.getInt(at), type = b.getShort(at + 4) & 0xffff;
            if (len < HEADER || at + len > bytes.length) {
                return null;
            }
            int msg = at + HEADER;
            if (type == SOCK_DIAG_BY_FAMILY && len >= HEADER + MSG && (b.getInt(msg + 4) & 0xffffffffL) == inode) {
                return entry(b, msg, at + len);
            }
            at += align(len);
        }
        return null;
    }

    private static Entry entry(ByteBuffer b, int msg, int end) {
        int sockType = b.get(msg + 1) & 0xff, protocol = b.getShort(msg + 2) & 0xffff;
        int ifindex = 0, copyThresh = 0;
        List<PacketMembership> members = new ArrayList<>();
        PacketRing rx = null, tx = null;
        for (int at = msg + MSG; at + 4 <= end; ) {
            int len = b.getShort(at) & 0xffff, attr = b.getShort(at + 2) & 0x3fff, data = at + 4;
            if (len < 4 || at + len > end) {
                break;
            }
            switch (attr) {
                case INFO -> {
                    ifindex = b.getInt(data);
                    copyThresh = b.getInt(data + 12);
                }
                case MCLIST -> {
                    for (int m = data; m + MCLIST_SIZE <= at + len; m += MCLIST_SIZE) {
                        members.add(membership(b, m));
                    }
                }
                case RX_RING -> rx = ring(b, data);
                case TX_RING -> tx = ring(b, data);
                default -> { }
            }
            at += align(len);
        }
        return new Entry(sockType, protocol, ifindex, copyThresh, members, rx, tx);
    }

    private static PacketMembership membership(ByteBuffer b, int at) {
        int alen = Math.min(b.getShort(at + 10) & 0xffff, 32);
        byte[] addr = new byte[alen];
        b.get(at + 12, addr);
        return PacketMembership.newBuilder().setIfindex(b.getInt(at)).setCount(b.getInt(at + 4))
                .setType(b.getShort(at + 8) & 0xffff).setAddress(ByteString.copyFrom(addr)).build();
    }

    /** A ring, or null when its size is zero (packet_diag reports both, empty ones as zeros). */
    private static PacketRing ring(ByteBuffer b, int at) {
        if (b.getInt(at + 4) == 0) {
            return null;
        }
        return PacketRing.newBuilder().setBlockSize(b.getInt(at)).setBlockNr(b.getInt(at + 4))
                .setFrameSize(b.getInt(at + 8)).setFrameNr(b.getInt(at + 12)).setRetireTmo(b.getInt(at + 16))
                .setSizeofPriv(b.getInt(at + 20)).setFeatures(b.getInt(at + 24)).build();
    }

    private static int align(int len) {
        return (len + 3) & ~3;
    }
}
