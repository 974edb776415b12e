package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint/restart of unix sockets (kind.unix) with unix_sockets.c, which checks every byte,
 * boundary, half, name and option itself: once with --kill and a restart (the path-bound socket
 * files stay behind and must be taken over), once without --kill (the process must see exactly
 * the same queues afterwards). Socket inodes are new after a restart, so they are masked in the
 * /proc comparison, as for inet sockets.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class UnixSocketTest {
    @TempDir
    Path tmp;

    @Test
    void unix_sockets() throws Exception {
        try (Target t = Target.start(tmp, "unix_sockets")) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(InetSocketTest.masked(before), t, InetSocketTest::masked);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /**
     * Sockets whose path names' files are gone, moved, replaced by a FIFO or by another
     * socket's file come back with the same names, connections and queue, and the file system
     * is left as it was (unix_detached.c checks both).
     */
    @Test
    void unix_detached() throws Exception {
        try (Target t = Target.start(tmp, "unix_detached")) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(InetSocketTest.masked(before), t, InetSocketTest::masked);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /**
     * Descriptors in flight (SCM_RIGHTS) in datagram, stream and seqpacket queues come back
     * with their messages: pipe ends, a regular file with its offset, a memfd, an eventfd
     * (unix_in_flight.c receives and uses each).
     */
    @Test
    void unix_in_flight() throws Exception {
        try (Target t = Target.start(tmp, "unix_in_flight")) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(pipesMasked(before), t, UnixSocketTest::pipesMasked);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /** Sockets and pipes are new after a restart: their inodes are masked. */
    static ProcSnapshot pipesMasked(ProcSnapshot s) {
        java.util.Map<Integer, String> fds = new java.util.TreeMap<>();
        InetSocketTest.masked(s).fds().forEach((fd, d) -> fds.put(fd, d.startsWith("pipe:[")
                ? d.replaceAll("^pipe:\\[\\d+\\]", "pipe:[<ino>]").replaceAll(" ino=\\d+", " ino=<ino>") : d));
        return new ProcSnapshot(s.maps(), s.status(), fds);
    }

    /**
     * A socket path another socket of the host is bound to at restart fails the restart with one
     * line naming the path and a remedy (a stale socket file alone is taken over: see above).
     */
    @Test
    void socket_path_taken() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "unix_sockets")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            Path path = tmp.resolve("cwd").resolve("listen.sock");
            Files.deleteIfExists(path);
            try (ServerSocketChannel squatter = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                squatter.bind(UnixDomainSocketAddress.of(path));
                Amber.Result r = t.run("restart", "-D", image.toString());
                assertTrue(r.exit() != 0, r.describe());
                String expected = path + " is in use by another socket on this host";
                assertEquals(1, r.stderrLines().stream().filter(l -> l.contains(expected)).count(),
                        "one line saying '" + expected + "'\n" + r.describe());
            }
        }
    }

    /**
     * A process running with other effective ids than root: its sockets are made again under
     * them, so that SO_PEERCRED reads the same on every end.
     */
    @Test
    void peer_credentials() throws Exception {
        try (Target t = Target.start(tmp, "unix_peer", "peercred")) {
            t.awaitReady();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /** A checkpoint that leaves the process running takes nothing from its queues. */
    @Test
    void unix_sockets_left_running() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "unix_sockets")) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
            Path image = tmp.resolve("image");
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString());
            assertEquals(0, r.exit(), r.describe() + t.logText());
            Amber.Result again = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("image2").toString());
            assertEquals(0, again.exit(), again.describe() + t.logText());
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
            CheckpointRestartTest.assertSame(before, t);   // no descriptor left behind by the peeks
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /** A socket connected to a process outside the tree is refused, naming that process, with a remedy. */
    @Test
    void peer_outside_the_tree() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target server = Target.start(tmp.resolve("server"), "unix_peer", "server");
                Target client = Target.start(tmp.resolve("client"), "unix_peer", "client",
                        tmp.resolve("server").resolve("cwd").resolve("peer.sock").toString())) {
            server.awaitReady();
            client.awaitReady();
            String fd = client.logLines().stream().filter(l -> l.startsWith("FD ")).findFirst().orElseThrow().substring(3);
            ProcSnapshot before = client.snapshot();
            Path image = tmp.resolve("image");
            Amber.Result r = client.run("checkpoint", Long.toString(client.pid), "-D", image.toString(), "--kill");
            assertEquals(3, r.exit(), r.describe());
            String prefix = "pid " + client.pid + " fd " + fd + ":";
            List<String> named = r.stderrLines().stream().filter(l -> l.startsWith(prefix)).toList();
            assertEquals(1, named.size(), "one refusal line starting '" + prefix + "'\n" + r.describe());
            String line = named.getFirst();
            assertTrue(line.contains("unix stream") && line.contains("pid " + server.pid + " (unix_peer)")
                    && line.contains("--external-unix"), "refusal names the socket, the peer process and the remedy: " + line);
            Procs.await(() -> Procs.runsFree(client.pid), Duration.ofSeconds(5), "pid " + client.pid + " to run free");
            CheckpointRestartTest.assertSame(before, client);
            client.sigterm();
            client.assertPassed(client.awaitExit(Duration.ofSeconds(30)));
            server.sigterm();
            server.assertPassed(server.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /** A socket in flight (SCM_RIGHTS) is refused, naming the socket; the process keeps it. */
    @Test
    void socket_in_flight_is_refused() throws Exception {
        refused("rights", "a socket (socket:[");
    }

    /** An out-of-band byte waiting is refused, naming the socket; the process keeps it. */
    @Test
    void out_of_band_byte_is_refused() throws Exception {
        refused("oob", "out-of-band byte (MSG_OOB)");
    }

    /** Data a client wrote into a connection its listener has not accepted is refused, naming the client. */
    @Test
    void data_in_an_unaccepted_connection_is_refused() throws Exception {
        refused("unaccepted", "that is not accepted yet");
    }

    private void refused(String mode, String reason) throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "unix_peer", mode)) {
            t.awaitReady();
            String fd = t.logLines().stream().filter(l -> l.startsWith("FD ")).findFirst().orElseThrow().substring(3);
            ProcSnapshot before = t.snapshot();
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("image").toString(), "--kill");
            assertEquals(3, r.exit(), r.describe());
            String prefix = "pid " + t.pid + " fd " + fd + ": socket (unix stream";
            List<String> named = r.stderrLines().stream().filter(l -> l.startsWith(prefix)).toList();
            assertEquals(1, named.size(), "one refusal line starting '" + prefix + "'\n" + r.describe());
            assertTrue(named.getFirst().contains(reason), named.getFirst());
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
            CheckpointRestartTest.assertSame(before, t);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /**
     * --external-unix: the client of a server outside the tree is saved with its connection as
     * external, and the restarted client is connected to the server's path again.
     */
    @Test
    void external_peer_is_connected_again() throws Exception {
        external("reconnect", "client");
    }

    /** The same for a datagram socket connected to a server outside the tree (as syslog's /dev/log). */
    @Test
    void external_datagram_peer_is_connected_again() throws Exception {
        external("dgram-server", "dgram-client");
    }

    private void external(String serverMode, String clientMode) throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        Path path = tmp.resolve("server").resolve("cwd").resolve("peer.sock");
        try (Target server = Target.start(tmp.resolve("server"), "unix_peer", serverMode)) {
            server.awaitReady();
            try (Target client = Target.start(tmp.resolve("client"), "unix_peer", clientMode, path.toString())) {
                client.awaitReady();
                Path image = tmp.resolve("image");
                Amber.Result r = client.run("checkpoint", Long.toString(client.pid), "-D", image.toString(), "--kill",
                        "--external-unix", path.toString());
                assertEquals(0, r.exit(), r.describe());
                Procs.await(() -> !Procs.exists(client.pid), Duration.ofSeconds(10), "pid " + client.pid + " to go");
                client.restart(image);
                client.sigterm();
                client.assertPassed(client.awaitExit(Duration.ofSeconds(30)));
            }
            server.sigterm();
            server.assertPassed(server.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /** Both ends of socket pairs and a queued connection in a parent and its child. */
    @Test
    void unix_sockets_across_a_tree() throws Exception {
        try (Target t = Target.start(tmp, "unix_tree")) {
            long child = 0;
            try {
                t.awaitReady();
                child = Long.parseLong(t.logLines().stream().filter(l -> l.startsWith("CHILD ")).findFirst()
                        .orElseThrow().substring(6));
                if (!Amber.nocr()) {
                    Path image = tmp.resolve("image");
                    t.checkpointKill(image);
                    long c = child;
                    Procs.await(() -> !Procs.exists(c), Duration.ofSeconds(10), "child " + c + " to disappear");
                    t.restart(image);
                    Procs.await(() -> Procs.exists(c), Duration.ofSeconds(10), "child " + c + " restored");
                }
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                if (child != 0 && t.binary.toString().equals(Procs.exe(child))) {
                    try {
                        Procs.signal(child, "KILL");
                    } catch (Exception | AssertionError e) {
                        // gone meanwhile
                    }
                }
            }
        }
    }
}
