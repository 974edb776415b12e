package dev.amber.kind.file;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Names a socket by its inode from the process's own /proc/PID/net tables ({@code unix stream},
 * {@code tcp6 127.0.0.1:80}), so that a refusal says which socket it is.
 */
final class Sockets {
    private static final String[] INET = {"tcp", "tcp6", "udp", "udp6", "raw", "raw6"};

    private Sockets() {}

    static String describe(int pid, long inode) {
        Path net = Path.of("/proc/" + pid + "/net");
        String ino = Long.toString(inode);
        try {
            for (String line : Files.readAllLines(net.resolve("unix"))) {
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
            for (String table : INET) {
                for (String line : Files.readAllLines(net.resolve(table))) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length >= 10 && f[9].equals(ino)) {
                        return table + " " + address(f[1]) + (f[2].startsWith("00000000:0000")
                                || f[2].matches("0+:0000") ? "" : " -> " + address(f[2]));
                    }
                }
            }
        } catch (IOException e) {
            // Fall through: the socket is named by its inode only.
        }
        return "socket:[" + inode + "]";
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
