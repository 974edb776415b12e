package dev.amber.kind.inet;

import dev.amber.image.proto.InetSocket;
import dev.amber.image.proto.SocketOption;
import dev.amber.image.proto.TcpConnection;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * Makes a saved TCP connection again in the puppet, in repair mode (the restart has
 * CAP_NET_ADMIN), by calls injected into it:
 *
 * <ol>
 * <li>TCP_REPAIR 1, which also lets bind share the port with the sockets already there (the
 *     listener that accepted the connection: sk_reuse = SK_FORCE_REUSE);
 * <li>TCP_QUEUE_SEQ of each queue set to where its saved bytes begin (rcv_nxt and write_seq minus
 *     the bytes to put back), then bind and connect: in repair mode connect sends no SYN and
 *     makes the socket ESTABLISHED with those sequence numbers;
 * <li>TCP_REPAIR_OPTIONS (MSS, window scaling, SACK, timestamps as negotiated), TCP_TIMESTAMP;
 * <li>the receive queue written back (a send in repair mode with the receive queue chosen lands
 *     in it), then the part of the send queue that was sent once (it is taken as sent and
 *     unacknowledged, and retransmitted if the peer does not acknowledge it);
 * <li>TCP_REPAIR_WINDOW, TCP_REPAIR 0 (without the window probe: the lock would drop it), then
 *     the part never sent, sent as any data is; SO_REUSEADDR again (leaving repair mode
 *     clears sk_reuse).
 * </ol>
 */
final class TcpRestore {
    private static final int IPPROTO_TCP = 6, SOL_SOCKET = 1, SO_REUSEADDR = 2, SO_SNDBUFFORCE = 32,
            SO_RCVBUFFORCE = 33;
    private static final int TCPOPT_MSS = 2, TCPOPT_WINDOW = 3, TCPOPT_SACK_PERM = 4, TCPOPT_TIMESTAMP = 8;
    private static final int TCPI_OPT_TIMESTAMPS = 1, TCPI_OPT_SACK = 2, TCPI_OPT_WSCALE = 4;
    private static final int MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000;
    private static final int DATA_AT = 4096, DATA_SIZE = Injector.SCRATCH_SIZE - DATA_AT;

    private TcpRestore() {}

    /** Connects the fresh socket {@code fd} (options set, not bound) as the saved connection was. */
    static void connect(RestoreContext ctx, long fd, InetSocket s, String what) throws IOException {
        Injector inj = ctx.injector();
        TcpConnection c = s.getConnection();
        setInt(inj, fd, TcpRepair.TCP_REPAIR, TcpRepair.REPAIR_ON, "TCP_REPAIR, 1", what);
        setInt(inj, fd, TcpRepair.TCP_REPAIR_QUEUE, TcpRepair.TCP_RECV_QUEUE, "TCP_REPAIR_QUEUE, recv", what);
        int state = c.getState(), peerFin = TcpStates.peerFin(state) ? 1 : 0, ourFin = TcpStates.ourFin(state) ? 1 : 0;
        int recvFrom = c.getRecvSeq() - peerFin - c.getRecvQueue().size();
        int sendFrom = c.getSendSeq() - ourFin - c.getSendQueue().size();
        setInt(inj, fd, TcpRepair.TCP_QUEUE_SEQ, recvFrom, "TCP_QUEUE_SEQ", what);
        setInt(inj, fd, TcpRepair.TCP_REPAIR_QUEUE, TcpRepair.TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE, send", what);
        setInt(inj, fd, TcpRepair.TCP_QUEUE_SEQ, sendFrom, "TCP_QUEUE_SEQ", what);
        byte[] local = s.getLocal().toByteArray(), peer = s.getPeer().toByteArray();
        inj.check("bind " + what, Arch.SYS_BIND, fd, inj.put(0, local), local.length);
        inj.check("connect (repair) to " + Sockaddr.address(peer) + ":" + Sockaddr.port(peer) + " " + what,
                Arch.SYS_CONNECT, fd, inj.put(0, peer), peer.length);
        byte[] options = repairOptions(c);
        inj.check("setsockopt(TCP_REPAIR_OPTIONS) " + what, Arch.SYS_SETSOCKOPT, fd, IPPROTO_TCP,
                TcpRepair.TCP_REPAIR_OPTIONS, inj.put(0, options), options.length);
        setInt(inj, fd, TcpRepair.TCP_TIMESTAMP, c.getTimestamp(), "TCP_TIMESTAMP", what);
        byte[] sendQueue = c.getSendQueue().toByteArray();
        roomFor(inj, fd, c.getRecvQueue().size(), sendQueue.length, what);
        setInt(inj, fd, TcpRepair.TCP_REPAIR_QUEUE, TcpRepair.TCP_RECV_QUEUE, "TCP_REPAIR_QUEUE, recv", what);
        send(inj, fd, c.getRecvQueue().toByteArray(), "receive queue", what);
        int sent = sendQueue.length - c.getUnsent();
        setInt(inj, fd, TcpRepair.TCP_REPAIR_QUEUE, TcpRepair.TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE, send", what);
        send(inj, fd, Arrays.copyOfRange(sendQueue, 0, sent), "send queue", what);
        if (!c.getWindow().isEmpty()) {
            byte[] window = window(c, c.getRecvSeq() - peerFin);
            inj.check("setsockopt(TCP_REPAIR_WINDOW) " + what, Arch.SYS_SETSOCKOPT, fd, IPPROTO_TCP,
                    TcpRepair.TCP_REPAIR_WINDOW, inj.put(0, window), window.length);
        }
        setInt(inj, fd, TcpRepair.TCP_REPAIR_QUEUE, TcpRepair.TCP_NO_QUEUE, "TCP_REPAIR_QUEUE, none", what);
        setInt(inj, fd, TcpRepair.TCP_REPAIR, TcpRepair.REPAIR_OFF_NO_WP, "TCP_REPAIR, -1", what);
        send(inj, fd, Arrays.copyOfRange(sendQueue, sent, sendQueue.length), "unsent data", what);
        reuseAddressAgain(inj, fd, s.getOptionsList(), what);
        SocketOptions.write(inj, fd, s.getOptionsList().stream().filter(TcpRestore::buffer).toList(), what);
        closeHalves(inj, fd, s, sendFrom, what);
    }

    /**
     * Brings an ESTABLISHED socket to the half-closed state it was saved in, in the order the
     * kernel went through: the peer's FIN before ours for LAST_ACK (CLOSE_WAIT, then close),
     * ours before the peer's for CLOSING (FIN_WAIT1, then the crossing FIN); for FIN_WAIT2 the
     * peer's ACK of our FIN. The segments acknowledge {@code sendFrom}, what the peer had
     * acknowledged before our FIN (snd_una), or our FIN itself; our FIN goes out as a real one,
     * which the lock drops (the peer has it) until it is sent again.
     */
    private static void closeHalves(Injector inj, long fd, InetSocket s, int sendFrom, String what)
            throws IOException {
        TcpConnection c = s.getConnection();
        int state = c.getState();
        byte[] local = s.getLocal().toByteArray(), peer = s.getPeer().toByteArray();
        int window = peerWindow(c);
        String object = "pid " + inj.tracee().tid() + " " + what;
        if (state == TcpStates.CLOSE_WAIT || state == TcpStates.LAST_ACK) {
            TcpSegment.send(peer, local, c.getRecvSeq() - 1, sendFrom + c.getSendQueue().size() - c.getUnsent(),
                    TcpSegment.FIN | TcpSegment.ACK, window, object);
        }
        if (TcpStates.ourFin(state)) {
            inj.check("shutdown(SHUT_WR) " + what, Arch.SYS_SHUTDOWN, fd, 1);
        }
        if (state == TcpStates.CLOSING) {
            TcpSegment.send(peer, local, c.getRecvSeq() - 1, sendFrom, TcpSegment.FIN | TcpSegment.ACK, window, object);
        }
        if (state == TcpStates.FIN_WAIT2) {
            TcpSegment.send(peer, local, c.getRecvSeq(), c.getSendSeq(), TcpSegment.ACK, window, object);
        }
    }

    /**
     * The saved struct tcp_repair_window, its rcv_wup (rcv_nxt at our last window update) no
     * later than the restored rcv_nxt: the kernel refuses one beyond it, and a peer's FIN, not
     * yet received again, had moved both.
     */
    private static byte[] window(TcpConnection c, int rcvNxt) {
        ByteBuffer w = ByteBuffer.wrap(c.getWindow().toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
        if (w.capacity() >= 20 && w.getInt(16) - rcvNxt > 0) {
            w.putInt(16, rcvNxt);
        }
        return w.array();
    }

    /** The window the peer offered (snd_wnd of the saved struct tcp_repair_window), as the segment field carries it. */
    private static int peerWindow(TcpConnection c) {
        if (c.getWindow().size() < 8) {
            return 0xffff;
        }
        int wnd = ByteBuffer.wrap(c.getWindow().toByteArray()).order(ByteOrder.LITTLE_ENDIAN).getInt(4);
        return (c.getOptions() & TCPI_OPT_WSCALE) != 0 ? wnd >>> c.getSndWscale() : wnd;
    }

    /**
     * Makes the buffers big enough for the saved queues while they are written back: the kernel
     * counts each buffer's overhead (skb truesize) with its bytes, and the refilled buffers are
     * not laid out as the original ones grew, so the same bytes can take more room than the
     * socket's buffer size. The saved sizes (and SO_BUF_LOCK, autotuning on or off) are put back
     * once the queues are in ({@link SocketOptions#write} with the saved buffer options).
     */
    private static void roomFor(Injector inj, long fd, int recv, int send, String what) throws IOException {
        int[][] force = {{SO_RCVBUFFORCE, recv}, {SO_SNDBUFFORCE, send}};
        for (int[] f : force) {
            if (f[1] > 0) {
                byte[] v = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(2 * f[1] + (1 << 20)).array();
                inj.check("setsockopt(SO_" + (f[0] == SO_RCVBUFFORCE ? "RCV" : "SND") + "BUFFORCE) " + what,
                        Arch.SYS_SETSOCKOPT, fd, SOL_SOCKET, f[0], inj.put(SocketOptions.VALUE_AT, v), 4);
            }
        }
    }

    /** SO_RCVBUF, SO_SNDBUF, SO_BUF_LOCK. */
    private static boolean buffer(SocketOption o) {
        return o.getLevel() == SOL_SOCKET && (o.getName() == 7 || o.getName() == 8 || o.getName() == 72);
    }

    /**
     * Once the tree runs, removes the network lock of the checkpoint (once, however many of its
     * connections the image has); a failed restart keeps it, for the next, and says so.
     */
    static void unlockAfter(RestoreContext ctx, String lock) {
        if (!lock.isEmpty() && ctx.tree().afterRelease("netlock " + lock, () -> NetLock.remove(lock))) {
            ctx.tree().onFailure(() -> System.err.println("amber: the network lock (nft chain inet " + NetLock.TABLE
                    + " ckpt-" + lock + ") still holds the image's connections, for a restart that succeeds; to"
                    + " let them go: nft delete chain inet " + NetLock.TABLE + " ckpt-" + lock));
        }
    }

    /** struct tcp_repair_opt { u32 opt_code; u32 opt_val; } for each option the handshake agreed on. */
    private static byte[] repairOptions(TcpConnection c) {
        ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(TCPOPT_MSS).putInt(c.getMss());
        if ((c.getOptions() & TCPI_OPT_WSCALE) != 0) {
            b.putInt(TCPOPT_WINDOW).putInt(c.getSndWscale() | c.getRcvWscale() << 16);
        }
        if ((c.getOptions() & TCPI_OPT_SACK) != 0) {
            b.putInt(TCPOPT_SACK_PERM).putInt(0);
        }
        if ((c.getOptions() & TCPI_OPT_TIMESTAMPS) != 0) {
            b.putInt(TCPOPT_TIMESTAMP).putInt(0);
        }
        return Arrays.copyOf(b.array(), b.position());
    }

    /** Sends {@code data} in scratch-sized pieces, never blocking: it fitted in the saved socket. */
    private static void send(Injector inj, long fd, byte[] data, String queue, String what) throws IOException {
        for (int at = 0; at < data.length; ) {
            int n = Math.min(DATA_SIZE, data.length - at);
            long r = inj.call(Arch.SYS_SENDTO, fd, inj.put(DATA_AT, Arrays.copyOfRange(data, at, at + n)), n,
                    MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0);
            ErrnoException.check(r, "send (" + queue + ", " + at + " of " + data.length + " bytes) " + what,
                    "in pid " + inj.tracee().tid());
            if (r == 0) {
                throw new IOException(what + ": the " + queue + " takes no more after " + at + " of " + data.length
                        + " bytes");
            }
            at += (int) r;
        }
    }

    /** Leaving repair mode set sk_reuse to SK_NO_REUSE: a saved SO_REUSEADDR is set again. */
    private static void reuseAddressAgain(Injector inj, long fd, List<SocketOption> options, String what)
            throws IOException {
        for (SocketOption o : options) {
            if (o.getLevel() == SOL_SOCKET && o.getName() == SO_REUSEADDR && o.getValue().byteAt(0) != 0) {
                inj.check("setsockopt(SO_REUSEADDR) " + what, Arch.SYS_SETSOCKOPT, fd, SOL_SOCKET, SO_REUSEADDR,
                        inj.put(SocketOptions.VALUE_AT, o.getValue().toByteArray()), 4);
            }
        }
    }

    private static void setInt(Injector inj, long fd, int option, int value, String name, String what)
            throws IOException {
        byte[] v = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
        inj.check("setsockopt(" + name + ") " + what, Arch.SYS_SETSOCKOPT, fd, IPPROTO_TCP, option,
                inj.put(SocketOptions.VALUE_AT, v), 4);
    }
}
