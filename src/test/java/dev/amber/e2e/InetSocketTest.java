package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint/restart of inet sockets (kind.inet) with {@link CheckpointRestartTest}'s flow:
 * TCP listeners (IPv4, IPv6), bound and fresh TCP sockets, a connected UDP pair. A socket's
 * inode is new after restart (the kernel numbers sockets as it makes them), so that one field
 * is masked in the /proc comparison; inet_sockets.c checks the rest itself.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class InetSocketTest {
    @TempDir
    Path tmp;

    @Test
    void inet_sockets() throws Exception {
        try (Target t = Target.start(tmp, "inet_sockets")) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(masked(before), t, InetSocketTest::masked);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /**
     * Options of every level (socket, IP, IPv6, TCP, raw) set away from their defaults, a
     * classic BPF filter, a UDP socket bound with IP_FREEBIND since cleared, raw sockets, and
     * unix stream and seqpacket sockets that were never connected: socket_options.c checks
     * that each reads back the same.
     */
    @Test
    void socket_options() throws Exception {
        try (Target t = Target.start(tmp, "socket_options")) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(masked(before), t, InetSocketTest::masked);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /** A restart whose listening port is taken fails with one line naming the address, port and remedy. */
    @Test
    void listening_port_taken() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "inet_sockets")) {
            t.awaitReady();
            int port = Integer.parseInt(t.logLines().stream().filter(l -> l.startsWith("PORTS ")).findFirst()
                    .orElseThrow().split(" ")[2]);
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            try (ServerSocket squatter = new ServerSocket()) {
                squatter.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                Amber.Result r = t.run("restart", "-D", image.toString());
                assertTrue(r.exit() != 0, r.describe());
                String expected = "127.0.0.1 port " + port + " is in use on this host";
                assertEquals(1, r.stderrLines().stream().filter(l -> l.contains(expected)).count(),
                        "one line saying '" + expected + "'\n" + r.describe());
            }
        }
    }

    static ProcSnapshot masked(ProcSnapshot s) {
        Map<Integer, String> fds = new TreeMap<>();
        s.fds().forEach((fd, d) -> fds.put(fd, d.startsWith("socket:[")
                ? d.replaceAll("^socket:\\[\\d+\\]", "socket:[<ino>]").replaceAll(" ino=\\d+", " ino=<ino>") : d));
        return new ProcSnapshot(s.maps(), s.status(), fds);
    }
}
