package dev.amber.kind.inet;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.TcpConnection;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Syscall;
import java.io.IOException;

/**
 * Reads a TCP connection through the kernel's repair mode, on Amber's own copy of the socket
 * (pidfd_getfd: the same socket, so what is set here is set for the process too). Amber does this
 * itself, not the process, because TCP_REPAIR needs CAP_NET_ADMIN, which the process may lack.
 *
 * <p>In repair mode (TCP_REPAIR 1) the socket sends nothing, TCP_REPAIR_QUEUE picks a queue for
 * TCP_QUEUE_SEQ and for recv(MSG_PEEK): the receive queue peeks as usual; the send queue peeks
 * the bytes written and not yet acknowledged, the retransmit queue included. SIOCINQ, SIOCOUTQ
 * and SIOCOUTQNSD give the queues' lengths (unread; unacknowledged; never sent). A socket still
 * in repair mode when it is last closed is dropped silently, no FIN nor RST: that is how a
 * checkpoint with --kill leaves the peer waiting for the restart.
 */
final class TcpRepair {
    static final int TCP_REPAIR = 19, TCP_REPAIR_QUEUE = 20, TCP_QUEUE_SEQ = 21, TCP_REPAIR_OPTIONS = 22,
            TCP_TIMESTAMP = 24, TCP_REPAIR_WINDOW = 29, TCP_MAXSEG = 2, TCP_INFO = 11;
    static final int TCP_NO_QUEUE = 0, TCP_RECV_QUEUE = 1, TCP_SEND_QUEUE = 2;
    static final int REPAIR_ON = 1, REPAIR_OFF = 0, REPAIR_OFF_NO_WP = -1;
    private static final int IPPROTO_TCP = 6, SIOCINQ = 0x541B, SIOCOUTQ = 0x5411, SIOCOUTQNSD = 0x894B;
    private static final int MSG_PEEK = 2, MSG_DONTWAIT = 0x40;
    static final int WINDOW_SIZE = 20;

    private TcpRepair() {}

    /** Turns repair mode on or off ({@link #REPAIR_ON}, {@link #REPAIR_OFF}) for Amber's copy {@code sock}. */
    static void repair(int sock, int mode, String what) throws ErrnoException {
        setInt(sock, TCP_REPAIR, mode, "setsockopt(TCP_REPAIR, " + mode + ")", what);
    }

    /** Everything of the connection; {@code sock} is in repair mode. */
    static TcpConnection.Builder read(int sock, int state, String what) throws IOException {
        TcpConnection.Builder c = TcpConnection.newBuilder().setState(state);
        int inq = ioctlInt(sock, SIOCINQ, "ioctl(SIOCINQ)", what);
        int outq = ioctlInt(sock, SIOCOUTQ, "ioctl(SIOCOUTQ)", what);
        int unsent = ioctlInt(sock, SIOCOUTQNSD, "ioctl(SIOCOUTQNSD)", what);
        if (TcpStates.finUnacked(state)) {
            // Our FIN takes a sequence number and is in the queue lengths, but carries no byte.
            outq--;
            unsent = Math.max(0, unsent - 1);
        }
        setInt(sock, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, "setsockopt(TCP_REPAIR_QUEUE, recv)", what);
        c.setRecvSeq(getInt(sock, TCP_QUEUE_SEQ, "getsockopt(TCP_QUEUE_SEQ, recv)", what));
        c.setRecvQueue(ByteString.copyFrom(peek(sock, inq, "receive", what)));
        setInt(sock, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, "setsockopt(TCP_REPAIR_QUEUE, send)", what);
        c.setSendSeq(getInt(sock, TCP_QUEUE_SEQ, "getsockopt(TCP_QUEUE_SEQ, send)", what));
        c.setSendQueue(ByteString.copyFrom(peek(sock, outq, "send", what))).setUnsent(unsent);
        setInt(sock, TCP_REPAIR_QUEUE, TCP_NO_QUEUE, "setsockopt(TCP_REPAIR_QUEUE, none)", what);
        c.setMss(getInt(sock, TCP_MAXSEG, "getsockopt(TCP_MAXSEG)", what));
        c.setTimestamp(getInt(sock, TCP_TIMESTAMP, "getsockopt(TCP_TIMESTAMP)", what));
        byte[] info = get(sock, TCP_INFO, 232, "getsockopt(TCP_INFO)", what);
        // struct tcp_info: u8 state, ca_state, retransmits, probes, backoff, options; then the
        // bit fields snd_wscale:4, rcv_wscale:4 in one byte (low bits first).
        c.setOptions(info[5] & 0xff).setSndWscale(info[6] & 0x0f).setRcvWscale((info[6] & 0xf0) >> 4);
        c.setWindow(ByteString.copyFrom(get(sock, TCP_REPAIR_WINDOW, WINDOW_SIZE, "getsockopt(TCP_REPAIR_WINDOW)",
                what)));
        return c;
    }

    /** The whole queue, {@code length} bytes, left in place. */
    private static byte[] peek(int sock, int length, String queue, String what) throws IOException {
        if (length == 0) {
            return new byte[0];
        }
        try (LocalBuffer b = new LocalBuffer(length)) {
            long n = Syscall.check("recv(MSG_PEEK, " + queue + " queue)", what, Arch.SYS_RECVFROM, sock, b.at(0),
                    length, MSG_PEEK | MSG_DONTWAIT, 0, 0);
            if (n != length) {
                throw new IOException(what + ": the " + queue + " queue holds " + length + " bytes, a peek returned " + n);
            }
            return b.get(0, length);
        }
    }

    private static int ioctlInt(int sock, int request, String call, String what) throws ErrnoException {
        try (LocalBuffer b = new LocalBuffer(8)) {
            Syscall.check(call, what, Arch.SYS_IOCTL, sock, request, b.at(0));
            return b.getInt(0);
        }
    }

    static void setInt(int sock, int option, int value, String call, String what) throws ErrnoException {
        try (LocalBuffer b = new LocalBuffer(8)) {
            b.putInt(0, value);
            Syscall.check(call, what, Arch.SYS_SETSOCKOPT, sock, IPPROTO_TCP, option, b.at(0), 4, 0);
        }
    }

    private static int getInt(int sock, int option, String call, String what) throws ErrnoException {
        byte[] v = get(sock, option, 4, call, what);
        return (v[0] & 0xff) | (v[1] & 0xff) << 8 | (v[2] & 0xff) << 16 | (v[3] & 0xff) << 24;
    }

    private static byte[] get(int sock, int option, int size, String call, String what) throws ErrnoException {
        try (LocalBuffer b = new LocalBuffer(size + 8)) {
            b.putInt(size, size);
            Syscall.check(call, what, Arch.SYS_GETSOCKOPT, sock, IPPROTO_TCP, option, b.at(0), b.at(size), 0);
            return b.get(0, Math.min(size, b.getInt(size)));
        }
    }
}
