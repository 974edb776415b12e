package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Established TCP connections (kind.inet, TCP repair mode) and the network lock (nftables table
 * {@code inet amber}): a client and server inside the tree with data in flight both ways,
 * checkpointed twice (left running, then killed) and restarted; a server whose client is this
 * test, outside the tree, which keeps talking to it across --kill and restart; and no lock left
 * behind, whether the checkpoint succeeds or refuses.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TcpConnectionTest {
    @TempDir
    Path tmp;

    @Test
    void pair_ipv4() throws Exception {
        pair("4");
    }

    @Test
    void pair_ipv6() throws Exception {
        pair("6");
    }

    @Test
    void pair_v4_mapped() throws Exception {
        pair("4v6");
    }

    /**
     * tcp_pair.c checks every byte in flight and the options after its SIGTERM; here the tree is
     * checkpointed leaving it running (it must still be whole: the lock gone, the sockets out of
     * repair mode), then checkpointed with --kill and restarted.
     */
    private void pair(String mode) throws Exception {
        try (Target t = Target.start(tmp, "tcp_pair", mode)) {
            t.awaitReady();
            if (!Amber.nocr()) {
                Amber.Result first = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("first").toString());
                assertEquals(0, first.exit(), first.describe() + t.logText());
                assertNoLock();
                Thread.sleep(300);
                assertTrue(t.isAlive(), "left running after a checkpoint\n" + t.logText());
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                assertLockHeld();
                t.restart(image);
                assertNoLock();
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    @Test
    void outside_client_ipv4() throws Exception {
        outsideClient("4", InetAddress.getByName("127.0.0.1"));
    }

    @Test
    void outside_client_ipv6() throws Exception {
        outsideClient("6", InetAddress.getByName("::1"));
    }

    /**
     * The test is the client. While the server is killed its packets are dropped by the lock
     * (a reset would end the connection here with "Connection reset"); after the restart the
     * server echoes what was sent while it was gone, then more.
     */
    private void outsideClient(String mode, InetAddress loopback) throws Exception {
        try (Target t = Target.start(tmp, "tcp_server", mode, "15")) {
            int port = port(t);
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(loopback, port), 5000);
                s.setSoTimeout(30000);
                t.awaitReady();
                OutputStream out = s.getOutputStream();
                InputStream in = s.getInputStream();
                say(out, in, "hello");
                if (!Amber.nocr()) {
                    Path image = tmp.resolve("image");
                    t.checkpointKill(image);
                    assertLockHeld();
                    out.write("down".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    Thread.sleep(500);
                    t.restart(image);
                    assertNoLock();
                    assertEquals("down", read(in, 4), "echo of what was sent while the server was killed");
                } else {
                    say(out, in, "down");
                }
                say(out, in, "after");
                say(out, in, "!");
            }
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            assertTrue(t.logLines().contains("ECHOED 15"), t.logText());
        }
    }

    /**
     * A checkpoint that leaves the server running, taken while the client is sending: the
     * connection carries on at once (lock removed, socket out of repair mode): what was in flight
     * is echoed, and more after it.
     */
    @Test
    void outside_client_left_running() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "tcp_server", "4", "10")) {
            int port = port(t);
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 5000);
                s.setSoTimeout(30000);
                t.awaitReady();
                OutputStream out = s.getOutputStream();
                InputStream in = s.getInputStream();
                out.write("wait".getBytes(StandardCharsets.US_ASCII));   // in flight while the checkpoint runs
                Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("image").toString());
                assertEquals(0, r.exit(), r.describe() + t.logText());
                assertNoLock();
                assertEquals("wait", read(in, 4), "echo of what was in flight during the checkpoint");
                say(out, in, "more");
                say(out, in, "!!");
            }
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            assertTrue(t.logLines().contains("ECHOED 10"), t.logText());
        }
    }

    /**
     * A refused checkpoint (a connect in progress, a connection not yet accepted), after the
     * established connection of refuse_socket.c was locked, leaves no lock behind.
     */
    @Test
    void refused_checkpoint_leaves_no_lock() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "refuse_socket", "tcp")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
            assertEquals(3, r.exit(), r.describe());
            assertTrue(r.stderrLines().stream().anyMatch(l -> l.matches("pid " + t.pid + " fd \\d+: socket \\(tcp "
                    + "127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:\\d+\\): TCP connection in state SYN_SENT \\(handshake"
                    + " in progress\\): not supported \\(checkpoint once connect\\(2\\) has finished\\)")), r.describe());
            assertTrue(r.stderrLines().stream().anyMatch(l -> l.contains("1 connection(s) waiting to be accepted")),
                    r.describe());
            assertFalse(Files.exists(image.resolve("inventory.pb")));
            assertNoLock();
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /** Half-closed connections (FIN_WAIT2 in the client, CLOSE_WAIT in the server) come back so. */
    @Test
    void pair_half_closed() throws Exception {
        try (Target t = Target.start(tmp, "tcp_pair", "4", "half")) {
            t.awaitReady();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
                assertNoLock();
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /** A lock chain left by a checkpoint whose amber died is removed by the next, which says so. */
    @Test
    void stale_lock_is_removed() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        String chain = "ckpt-0123456789ab-pid" + gone.pid();
        nft("add table inet amber\n"
                + "add set inet amber ckpt-0123456789ab-v4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; }\n"
                + "add set inet amber ckpt-0123456789ab-v6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; }\n"
                + "add chain inet amber " + chain + " { type filter hook prerouting priority raw; policy accept; }\n");
        try (Target t = Target.start(tmp, "tcp_pair", "4")) {
            t.awaitReady();
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("image").toString());
            assertEquals(0, r.exit(), r.describe());
            assertTrue(r.describe().contains("removed the network lock nft chain inet amber " + chain + " left by a"
                    + " checkpoint that did not finish (amber pid " + gone.pid() + " is gone)"), r.describe());
            assertNoLock();
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        } finally {
            new ProcessBuilder("nft", "delete", "table", "inet", "amber").start().waitFor();
        }
    }

    private static int port(Target t) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            for (String l : t.logLines()) {
                if (l.startsWith("PORT ")) {
                    return Integer.parseInt(l.substring(5));
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no PORT line\n" + t.logText());
    }

    private static void say(OutputStream out, InputStream in, String text) throws Exception {
        out.write(text.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        assertEquals(text, read(in, text.length()), "echo");
    }

    private static String read(InputStream in, int n) throws Exception {
        byte[] b = in.readNBytes(n);
        return new String(b, StandardCharsets.US_ASCII);
    }

    private static String nftList() throws Exception {
        Process p = new ProcessBuilder("nft", "list", "table", "inet", "amber").redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return p.waitFor() == 0 ? text : "";
    }

    private static void nft(String script) throws Exception {
        Process p = new ProcessBuilder("nft", "-f", "-").redirectErrorStream(true).start();
        p.getOutputStream().write(script.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), text);
    }

    /** No lock: a restart removes it once the tree runs, so it may take a moment after. */
    private static void assertNoLock() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!nftList().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals("", nftList(), "nft table inet amber left behind");
    }

    /** A failed test may leave its lock (a failed restart keeps it for the next): never for the next test. */
    @AfterEach
    void dropLocks() throws Exception {
        if (!nftList().isEmpty()) {
            new ProcessBuilder("nft", "delete", "table", "inet", "amber").start().waitFor();
        }
    }

    /** After --kill: one chain ckpt-ID (no pid: it waits for the restart). */
    private static void assertLockHeld() throws Exception {
        String table = nftList();
        assertTrue(table.matches("(?s).*chain ckpt-[0-9a-f]{12} \\{.*drop.*"), "the lock while killed:\n" + table);
        assertEquals(List.of(), table.lines().filter(l -> l.contains("-pid")).toList(), table);
    }
}
