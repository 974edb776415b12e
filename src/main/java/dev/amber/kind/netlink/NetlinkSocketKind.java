package dev.amber.kind.netlink;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.NetlinkSocket;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.inet.SocketOptions;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Netlink sockets (AF_NETLINK): the protocol, the port id bound (by bind(2), or picked by the
 * kernel at the first send or connect), the multicast groups joined, the destination connected
 * to, and the options, all asked of the stopped process with injected calls.
 *
 * <pre>
 * sockaddr_nl  family:u16 = 16  pad:u16  pid:u32 (port id)  groups:u32 (mask of groups 1..32)
 * </pre>
 *
 * Groups come from NETLINK_LIST_MEMBERSHIPS (a bitmap of every group, past 32 too) and are joined
 * again one by one with NETLINK_ADD_MEMBERSHIP after binding the port id alone. Messages waiting
 * in the receive queue (the kernel's answers, notifications: /proc/net/netlink Rmem) cannot be
 * put back as the kernel sent them, and a dump in progress (Dump) cannot be resumed: both are
 * refused. Reached through the unix kind, which asks every socket its family first.
 */
public final class NetlinkSocketKind implements FdKind {
    private static final int SOL_SOCKET = 1, SO_TYPE = 3, SO_PROTOCOL = 38, SOL_NETLINK = 270, AF_NETLINK = 16;
    private static final int NETLINK_ADD_MEMBERSHIP = 1, NETLINK_LIST_MEMBERSHIPS = 9, O_NONBLOCK = 04000;
    private static final int ADDR_AT = 2048, LENGTH_AT = 2064, GROUPS_AT = 4096, GROUPS_SIZE = 1024, EADDRINUSE = 98;

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.NETLINK;
    }

    /** Never by its link (every socket reads socket:[N]): the unix kind passes AF_NETLINK ones on. */
    @Override
    public boolean handles(String target) {
        return false;
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        Injector inj = ctx.injector();
        String what = "fd " + fd + " " + target;
        int type = SocketOptions.getInt(inj, fd, SOL_SOCKET, SO_TYPE, "getsockopt(SO_TYPE) " + what);
        int protocol = SocketOptions.getInt(inj, fd, SOL_SOCKET, SO_PROTOCOL, "getsockopt(SO_PROTOCOL) " + what);
        String kind = "socket (netlink protocol " + protocol + " " + target + ")";
        String[] row = row(ctx.pid(), target);
        if (row != null && !row[4].equals("0")) {
            ctx.refuse("fd " + fd, kind, row[4] + " byte(s) of netlink messages wait to be read: not supported (let"
                    + " the process read them first)");
            return;
        }
        if (row != null && !row[6].equals("0")) {
            ctx.refuse("fd " + fd, kind, "a netlink dump is in progress: not supported (let the process read it to"
                    + " the end first)");
            return;
        }
        ByteBuffer local = address(inj, Arch.SYS_GETSOCKNAME, fd, "getsockname " + what);
        ByteBuffer peer = address(inj, Arch.SYS_GETPEERNAME, fd, "getpeername " + what);
        NetlinkSocket.Builder s = NetlinkSocket.newBuilder().setType(type).setProtocol(protocol).setFlags(info.flags())
                .setPortid(local.getInt(4)).setDstPortid(peer.getInt(4)).setDstGroups(peer.getInt(8));
        s.addAllGroups(groups(inj, fd, what));
        s.addAllOptions(SocketOptions.read(inj, fd, AF_NETLINK, protocol, type, what));
        d.setNetlink(s);
    }

    /** The socket's row of /proc/PID/net/netlink, split: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode. */
    private static String[] row(int pid, String target) {
        String inode = target.substring("socket:[".length(), target.length() - 1);
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/net/netlink"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 10 && f[9].equals(inode)) {
                    return f;
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    /** getsockname or getpeername: the sockaddr_nl (netlink answers both even when unbound). */
    private static ByteBuffer address(Injector inj, int nr, long fd, String name) throws IOException {
        inj.put(LENGTH_AT, le(12));
        inj.check(name, nr, fd, inj.scratch() + ADDR_AT, inj.scratch() + LENGTH_AT);
        return ByteBuffer.wrap(inj.get(ADDR_AT, 12)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** NETLINK_LIST_MEMBERSHIPS: the group bitmap, trailing empty words left out. */
    private static List<Integer> groups(Injector inj, long fd, String what) throws IOException {
        inj.put(LENGTH_AT, le(GROUPS_SIZE));
        inj.check("getsockopt(NETLINK_LIST_MEMBERSHIPS) " + what, Arch.SYS_GETSOCKOPT, fd, SOL_NETLINK,
                NETLINK_LIST_MEMBERSHIPS, inj.scratch() + GROUPS_AT, inj.scratch() + LENGTH_AT);
        int length = Math.min(GROUPS_SIZE, ByteBuffer.wrap(inj.get(LENGTH_AT, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt());
        ByteBuffer b = ByteBuffer.wrap(inj.get(GROUPS_AT, length)).order(ByteOrder.LITTLE_ENDIAN);
        java.util.ArrayList<Integer> words = new java.util.ArrayList<>();
        for (int i = 0; i + 4 <= length; i += 4) {
            words.add(b.getInt(i));
        }
        while (!words.isEmpty() && words.getLast() == 0) {
            words.removeLast();
        }
        return words;
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        NetlinkSocket s = d.getNetlink();
        String what = "pid " + ctx.pid() + " fd " + d.getFd() + " netlink socket (protocol " + s.getProtocol() + ")";
        long fd = inj.check("socket(AF_NETLINK) " + what, Arch.SYS_SOCKET, AF_NETLINK,
                s.getType() | (s.getFlags() & O_NONBLOCK), s.getProtocol());
        SocketOptions.write(inj, fd, s.getOptionsList(), what);
        if (s.getPortid() != 0) {
            long r = inj.call(Arch.SYS_BIND, fd, inj.put(ADDR_AT, sockaddr(s.getPortid(), 0)), 12);
            if (r == -EADDRINUSE) {
                throw new IOException(what + ": bind: port id " + Integer.toUnsignedString(s.getPortid()) + " is taken"
                        + " by another netlink socket of this protocol on this host (ss -f netlink -p): stop what"
                        + " holds it, then restart again");
            }
            dev.amber.sys.ErrnoException.check(r, "bind(port id " + Integer.toUnsignedString(s.getPortid()) + ") " + what,
                    "in pid " + ctx.pid());
        }
        for (int w = 0; w < s.getGroupsCount(); w++) {
            for (int bit = 0; bit < 32; bit++) {
                if ((s.getGroups(w) & (1 << bit)) != 0) {
                    int group = w * 32 + bit + 1;
                    inj.check("setsockopt(NETLINK_ADD_MEMBERSHIP, " + group + ") " + what, Arch.SYS_SETSOCKOPT, fd,
                            SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, inj.put(ADDR_AT, le(group)), 4);
                }
            }
        }
        if (s.getDstPortid() != 0 || s.getDstGroups() != 0) {
            inj.check("connect(port id " + Integer.toUnsignedString(s.getDstPortid()) + ", groups 0x"
                    + Integer.toHexString(s.getDstGroups()) + ") " + what, Arch.SYS_CONNECT, fd,
                    inj.put(ADDR_AT, sockaddr(s.getDstPortid(), s.getDstGroups())), 12);
        }
        return fd;
    }

    private static byte[] sockaddr(int portid, int groups) {
        return ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putShort((short) AF_NETLINK).putShort((short) 0)
                .putInt(portid).putInt(groups).array();
    }

    private static byte[] le(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }
}
