package dev.amber.kind.inet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A socket's row in the process's own {@code /proc/PID/net} tables (its network namespace's),
 * found by inode:
 *
 * <pre>
 *   sl  local_address rem_address   st tx_queue:rx_queue tr tm->when retrnsmt   uid  timeout inode
 *    0: 0100007F:A3C1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 ...
 * </pre>
 *
 * Only hashed sockets are listed: bound or connected ones (an unbound socket has no row, and no
 * data). {@link #describe} names any socket the way the descriptor table's refusals always have
 * ({@code unix stream @name}, {@code tcp 127.0.0.1:80 -> 127.0.0.1:5000}), so that sockets this
 * kind leaves alone are refused in the same words as before it existed.
 */
public final class SocketTable {
    private static final List<String> INET = List.of("tcp", "tcp6", "udp", "udp6", "udplite", "udplite6", "raw", "raw6",
            "icmp", "icmp6");

    /** One row: the table it is in ({@code udp6}), its fields split on blanks. */
    record Row(String table, String[] fields) {
        /** Bytes of data waiting to be read (for UDP: sk_rmem_alloc, so any datagram counts). */
        long rxQueue() {
            return Long.parseLong(fields[4].substring(fields[4].indexOf(':') + 1), 16);
        }

        String describe() {
            String remote = fields[2];
            return table + " " + address(fields[1]) + (remote.matches("0+:0000") ? "" : " -> " + address(remote));
        }
    }

    private SocketTable() {}

    static Optional<Row> find(int pid, long inode) {
        String ino = Long.toString(inode);
        for (String table : INET) {
            for (String line : lines(pid, table)) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 10 && f[9].equals(ino)) {
                    return Optional.of(new Row(table, f));
                }
            }
        }
        return Optional.empty();
    }

    /** Names a socket for a refusal: unix type and path, or an inet row's addresses, or the inode. */
    public static String describe(int pid, long inode) {
        String ino = Long.toString(inode);
        for (String line : lines(pid, "unix")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 7 && f[6].equals(ino)) {
                String type = switch (f[4]) {
                    case "0001" -> "stream";
                    case "0002" -> "datagram";
                    case "0005" -> "seqpacket";
                    default -> "type " + f[4];
                };
                return "unix " + type + (f.length > 7 ? " " + f[7] : "");
            }
        }
        return find(pid, inode).map(Row::describe).orElse("socket:[" + inode + "]");
    }

    private static List<String> lines(int pid, String table) {
        try {
            return Files.readAllLines(Path.of("/proc/" + pid + "/net/" + table));
        } catch (IOException e) {
            return List.of();  // no such table (IPv6 disabled): the socket is not in it
        }
    }

    /** {@code 0100007F:0050} → {@code 127.0.0.1:80} (IPv6 shown as hex with the port). */
    private static String address(String hex) {
        String[] p = hex.split(":");
        int port = Integer.parseInt(p[1], 16);
        if (p[0].length() == 8) {
            long a = Long.parseLong(p[0], 16);
            return (a & 0xff) + "." + (a >> 8 & 0xff) + "." + (a >> 16 & 0xff) + "." + (a >> 24 & 0xff) + ":" + port;
        }
        return "[" + p[0] + "]:" + port;
    }
}
