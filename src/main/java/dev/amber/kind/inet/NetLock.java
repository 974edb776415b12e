package dev.amber.kind.inet;

import dev.amber.sys.Arch;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Spawn;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The network lock: while a checkpointed TCP connection is frozen, killed or not yet restored,
 * every packet of it that reaches this host is dropped, so that the kernel never answers one with
 * a RST (which the peer would take as the end of the connection) nor takes data into a queue
 * already saved. Dropped packets are sent again by their sender; TCP makes up for the loss.
 *
 * <p>One nftables table, {@code inet amber}; per checkpoint a base chain on the prerouting hook
 * (every packet received, from another host or over loopback, passes it) at priority raw, and two
 * sets of connections (address . port . address . port, both directions), named after a random
 * id: {@code ckpt-ID-v4}, {@code ckpt-ID-v6}; a packet marked {@link #MARK} passes. While the checkpoint runs the chain is
 * {@code ckpt-ID-pidN} (N: amber's pid), so that a chain left by a checkpoint that died is
 * known as such and removed by the next one; a checkpoint with --kill renames it
 * {@code ckpt-ID}, which the restart of its image removes. A v4-mapped IPv6 socket's packets are
 * IPv4 ones: its addresses go in the v4 set.
 */
final class NetLock {
    static final String TABLE = "amber";
    /** SO_MARK of the segments Amber itself sends to a restored socket ({@link TcpSegment}): let through. */
    static final int MARK = 0x616d6272;
    private static final Pattern RUNNING = Pattern.compile("chain (ckpt-([0-9a-f]+))-pid(\\d+) \\{");

    private final String id;
    private final String chain;
    private boolean open = true;

    private NetLock(String id) {
        this.id = id;
        this.chain = "ckpt-" + id + "-pid" + ProcessHandle.current().pid();
    }

    /** The id the image records, by which a restart removes the lock. */
    String id() {
        return id;
    }

    /** Makes a new lock, holding nothing yet; first removes what dead checkpoints left, saying so. */
    static NetLock create(Consumer<String> warn) throws IOException {
        removeStale(warn);
        byte[] random = new byte[6];
        new SecureRandom().nextBytes(random);
        NetLock lock = new NetLock(HexFormat.of().formatHex(random));
        String set = "add set inet " + TABLE + " ckpt-" + lock.id;
        String rule = "add rule inet " + TABLE + " " + lock.chain;
        nft("lock", "add table inet " + TABLE + "\n"
                + set + "-v4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; }\n"
                + set + "-v6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; }\n"
                + "add chain inet " + TABLE + " " + lock.chain
                + " { type filter hook prerouting priority raw; policy accept; }\n"
                + rule + " meta mark " + MARK + " accept\n"
                + rule + " ip saddr . tcp sport . ip daddr . tcp dport @ckpt-" + lock.id + "-v4 drop\n"
                + rule + " ip6 saddr . tcp sport . ip6 daddr . tcp dport @ckpt-" + lock.id + "-v6 drop\n");
        return lock;
    }

    /** Drops the packets of the connection between the two sockaddrs, both ways. */
    void add(byte[] local, byte[] peer) throws IOException {
        String a = element(local), b = element(peer);
        boolean v6 = a.contains(":");
        nft("lock", "add element inet " + TABLE + " ckpt-" + id + (v6 ? "-v6" : "-v4") + " { " + a + " . " + b
                + ", " + b + " . " + a + " }\n");
    }

    /** The checkpoint left the tree running, or failed: the connections flow again. */
    void release() throws IOException {
        if (open) {
            open = false;
            delete(chain, id);
        }
    }

    /** The checkpoint killed the tree: the lock stays for the restart ({@link #remove}). */
    void keep() throws IOException {
        if (open) {
            open = false;
            nft("lock", "rename chain inet " + TABLE + " " + chain + " ckpt-" + id + "\n");
        }
    }

    /** After a restart: removes the lock its checkpoint left, and the table once it holds no other. */
    static void remove(String id) throws IOException {
        delete("ckpt-" + id, id);
    }

    private static void delete(String chain, String id) throws IOException {
        nft("unlock", "delete chain inet " + TABLE + " " + chain + "\n"
                + "delete set inet " + TABLE + " ckpt-" + id + "-v4\n"
                + "delete set inet " + TABLE + " ckpt-" + id + "-v6\n");
        if (!list().contains("chain ")) {
            nft("unlock", "delete table inet " + TABLE + "\n");
        }
    }

    /** Chains of checkpoints whose amber is gone (it crashed or was killed) hold connections for nobody. */
    private static void removeStale(Consumer<String> warn) throws IOException {
        Matcher m = RUNNING.matcher(list());
        List<String[]> stale = new ArrayList<>();
        while (m.find()) {
            if (ProcessHandle.of(Long.parseLong(m.group(3))).isEmpty()) {
                stale.add(new String[] {m.group(1) + "-pid" + m.group(3), m.group(2), m.group(3)});
            }
        }
        for (String[] s : stale) {
            delete(s[0], s[1]);
            warn.accept("removed the network lock nft chain inet " + TABLE + " " + s[0] + " left by a checkpoint"
                    + " that did not finish (amber pid " + s[2] + " is gone)");
        }
    }

    /** {@code 127.0.0.1 . 80} or {@code ::1 . 80}; a v4-mapped IPv6 address as the IPv4 one. */
    private static String element(byte[] sa) {
        String address = Sockaddr.address(sa);
        if (address.startsWith("[")) {
            address = address.substring(1, address.length() - 1);
            if (address.startsWith("::ffff:") && address.indexOf('.') > 0) {
                address = address.substring("::ffff:".length());
            }
        }
        return address + " . " + Sockaddr.port(sa);
    }

    /** The table as nft lists it, or "" when there is none. */
    private static String list() throws IOException {
        Path out = Files.createTempFile("amber-nft", ".out");
        try {
            int status = run(List.of("nft", "list", "table", "inet", TABLE), null, out);
            return status == 0 ? Files.readString(out) : "";
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** Runs an nft script; a failure names what it was for and nft's own words. */
    private static void nft(String what, String script) throws IOException {
        Path in = Files.createTempFile("amber-nft", ".nft"), out = Files.createTempFile("amber-nft", ".out");
        try {
            Files.writeString(in, script);
            int status = run(List.of("nft", "-f", in.toString()), in, out);
            if (status != 0) {
                throw new IOException("network " + what + ": nft -f failed (status " + status + "): "
                        + Files.readString(out).strip().replace('\n', ' ') + " (is nftables installed? scripts/setup"
                        + " installs it)");
            }
        } finally {
            Files.deleteIfExists(in);
            Files.deleteIfExists(out);
        }
    }

    private static int run(List<String> argv, Path in, Path out) throws IOException {
        String nft = Files.isExecutable(Path.of("/usr/sbin/nft")) ? "/usr/sbin/nft" : "/sbin/nft";
        if (!Files.isExecutable(Path.of(nft))) {
            throw new IOException("network lock: nft is not installed: install nftables (scripts/setup does)");
        }
        int pid = new Spawn(nft, argv).env(Map.of("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
                .input(0, in == null ? "/dev/null" : in.toString()).output(1, out.toString(), false)
                .dup2(1, 2).start();
        try (LocalBuffer status = new LocalBuffer(8)) {
            Syscall.check("wait4", "nft pid " + pid, Arch.SYS_WAIT4, pid, status.at(0), 0, 0);
            int s = status.getInt(0);
            return (s & 0x7f) == 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f);
        }
    }
}
