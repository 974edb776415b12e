package dev.amber.kind.packet;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.PacketMembership;
import dev.amber.image.proto.PacketRing;
import dev.amber.image.proto.PacketSocket;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.inet.SocketOptions;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * AF_PACKET sockets (net/packet/af_packet.c): SOCK_RAW and SOCK_DGRAM, and the old SOCK_PACKET.
 * Saved: the type and ethertype (packet_diag's pdiag_num), the interface bound (its index; for
 * SOCK_PACKET the device name getsockname gives), the SOL_PACKET and SOL_SOCKET options
 * (getsockopt, with a classic BPF filter), the copy threshold, memberships and ring geometry
 * ({@link PacketDiag}), and the fanout group (getsockopt PACKET_FANOUT).
 *
 * <p>Restored in the kernel's order: socket, the options (the version, reserve and virtio
 * header refuse a socket with a ring: EBUSY), bind, memberships (added as many times as they
 * were), rings, then the fanout group, which wants a running (bound) socket. Not saved: the
 * packets waiting in the receive queue or a ring, copies of traffic the host also delivered
 * where it was going (a capture that falls behind loses packets too). Refused: a fanout group
 * steered by a BPF program (the program cannot be read back). A ring mapped into the process is
 * refused by the memory kind.
 */
public final class PacketSocketKind implements FdKind {
    private static final int SOL_SOCKET = 1, SO_TYPE = 3, AF_PACKET = 17, SOL_PACKET = 263, SOCK_PACKET = 10;
    private static final int PACKET_ADD_MEMBERSHIP = 1, PACKET_RX_RING = 5, PACKET_COPY_THRESH = 7,
            PACKET_TX_RING = 13, PACKET_FANOUT = 18, FANOUT_CBPF = 6, FANOUT_EBPF = 7, FLAG_UNIQUEID = 0x20;
    private static final int O_NONBLOCK = 04000, EOPNOTSUPP = 95, ADDR_AT = 2048, LENGTH_AT = 2112;

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.PACKET;
    }

    /** Never by its link (every socket reads socket:[N]): the unix kind passes AF_PACKET ones on. */
    @Override
    public boolean handles(String target) {
        return false;
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        Injector inj = ctx.injector();
        long inode = Long.parseLong(target.substring("socket:[".length(), target.length() - 1));
        String what = "fd " + fd + " " + target;
        int type = SocketOptions.getInt(inj, fd, SOL_SOCKET, SO_TYPE, "getsockopt(SO_TYPE) " + what);
        Optional<PacketDiag.Entry> diag = PacketDiag.find(ctx.pid(), inode);
        if (diag.isEmpty()) {
            throw new IOException("pid " + ctx.pid() + " " + what + ": packet_diag does not list the socket");
        }
        PacketDiag.Entry e = diag.get();
        int fanout = fanout(inj, fd, what);
        int fanoutType = (fanout >> 16) & 0xff;
        if (fanout != 0 && (fanoutType == FANOUT_CBPF || fanoutType == FANOUT_EBPF)) {
            ctx.refuse("fd " + fd, "packet socket (" + target + ")", "fanout group " + (fanout & 0xffff)
                    + " steered by a " + (fanoutType == FANOUT_CBPF ? "classic" : "eBPF") + " BPF program: not supported"
                    + " (the program cannot be read back)");
            return;
        }
        PacketSocket.Builder s = PacketSocket.newBuilder().setType(type).setProtocol(e.protocol())
                .setFlags(info.flags()).setIfindex(e.ifindex()).setCopyThresh(e.copyThresh())
                .addAllMemberships(e.memberships()).setFanout(fanout);
        if (type == SOCK_PACKET) {
            s.setDevice(device(inj, fd, what));
        }
        if (e.rxRing() != null) {
            s.setRxRing(e.rxRing());
        }
        if (e.txRing() != null) {
            s.setTxRing(e.txRing());
        }
        s.addAllOptions(SocketOptions.read(inj, fd, AF_PACKET, 0, type, what));
        d.setPacket(s);
    }

    /** getsockopt(PACKET_FANOUT), 0 when in no group (SOCK_PACKET has no SOL_PACKET options). */
    private static int fanout(Injector inj, long fd, String what) throws IOException {
        inj.put(LENGTH_AT, le(4));
        long r = inj.call(Arch.SYS_GETSOCKOPT, fd, SOL_PACKET, PACKET_FANOUT, inj.scratch() + ADDR_AT,
                inj.scratch() + LENGTH_AT);
        if (r == -EOPNOTSUPP) {
            return 0;
        }
        ErrnoException.check(r, "getsockopt(PACKET_FANOUT) " + what, "in pid " + inj.tracee().tid());
        return ByteBuffer.wrap(inj.get(ADDR_AT, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    /** SOCK_PACKET: getsockname's sa_data, the device name bound ("" when none). */
    private static String device(Injector inj, long fd, String what) throws IOException {
        inj.put(LENGTH_AT, le(16));
        inj.check("getsockname " + what, Arch.SYS_GETSOCKNAME, fd, inj.scratch() + ADDR_AT, inj.scratch() + LENGTH_AT);
        byte[] data = inj.get(ADDR_AT + 2, 14);
        int n = 0;
        while (n < data.length && data[n] != 0) {
            n++;
        }
        return new String(data, 0, n, StandardCharsets.UTF_8);
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        PacketSocket s = d.getPacket();
        String what = "pid " + ctx.pid() + " fd " + d.getFd() + " packet socket (type " + s.getType() + ", protocol 0x"
                + Integer.toHexString(s.getProtocol()) + ")";
        long fd = inj.check("socket(AF_PACKET) " + what, Arch.SYS_SOCKET, AF_PACKET,
                s.getType() | (s.getFlags() & O_NONBLOCK), Short.toUnsignedInt(Short.reverseBytes((short) s.getProtocol())));
        SocketOptions.write(inj, fd, s.getOptionsList(), what);
        if (s.getCopyThresh() != 0) {
            set(inj, fd, PACKET_COPY_THRESH, le(s.getCopyThresh()), "PACKET_COPY_THRESH", what);
        }
        bind(inj, fd, s, what);
        for (PacketMembership m : s.getMembershipsList()) {
            for (int i = 0; i < Math.max(1, m.getCount()); i++) {
                set(inj, fd, PACKET_ADD_MEMBERSHIP, mreq(m), "PACKET_ADD_MEMBERSHIP", what);
            }
        }
        if (s.hasRxRing()) {
            set(inj, fd, PACKET_RX_RING, ring(s.getRxRing()), "PACKET_RX_RING", what);
        }
        if (s.hasTxRing()) {
            set(inj, fd, PACKET_TX_RING, ring(s.getTxRing()), "PACKET_TX_RING", what);
        }
        if (s.getFanout() != 0) {
            // The saved id is given again: a group made with UNIQUEID gets that same id, not a new one.
            set(inj, fd, PACKET_FANOUT, le(s.getFanout() & ~(FLAG_UNIQUEID << 24)), "PACKET_FANOUT", what);
        }
        return fd;
    }

    /**
     * bind(2): SOCK_PACKET by device name (struct sockaddr, sa_data the name), the others by
     * interface index (sockaddr_ll: family u16, protocol be16, ifindex i32, then 12 bytes).
     */
    private static void bind(Injector inj, long fd, PacketSocket s, String what) throws IOException {
        ByteBuffer a;
        if (s.getType() == SOCK_PACKET) {
            if (s.getDevice().isEmpty()) {
                return;
            }
            a = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putShort((short) AF_PACKET)
                    .put(s.getDevice().getBytes(StandardCharsets.UTF_8));
        } else {
            if (s.getIfindex() == 0) {
                return;
            }
            a = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putShort((short) AF_PACKET)
                    .putShort(Short.reverseBytes((short) s.getProtocol())).putInt(s.getIfindex());
        }
        String where = s.getType() == SOCK_PACKET ? "device " + s.getDevice() : "interface " + s.getIfindex();
        inj.check("bind to " + where + " " + what, Arch.SYS_BIND, fd, inj.put(ADDR_AT, a.array()), a.capacity());
    }

    /** struct packet_mreq_max: ifindex i32, type u16, alen u16, address u8[32]. */
    private static byte[] mreq(PacketMembership m) {
        byte[] addr = m.getAddress().toByteArray();
        return ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN).putInt(m.getIfindex()).putShort((short) m.getType())
                .putShort((short) addr.length).put(addr).array();
    }

    /** struct tpacket_req3 (the first four fields are tpacket_req, all V1 and V2 read). */
    private static byte[] ring(PacketRing r) {
        return ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN).putInt(r.getBlockSize()).putInt(r.getBlockNr())
                .putInt(r.getFrameSize()).putInt(r.getFrameNr()).putInt(r.getRetireTmo()).putInt(r.getSizeofPriv())
                .putInt(r.getFeatures()).array();
    }

    private static void set(Injector inj, long fd, int option, byte[] value, String name, String what)
            throws IOException {
        inj.check("setsockopt(" + name + ") " + what, Arch.SYS_SETSOCKOPT, fd, SOL_PACKET, option,
                inj.put(ADDR_AT, value), value.length);
    }

    private static byte[] le(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }
}
