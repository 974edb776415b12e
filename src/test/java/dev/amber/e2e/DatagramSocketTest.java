package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

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
 * Datagram sockets of a daemon and its worker (datagram_sockets.c): UDP sockets shut down for
 * writing, for reading and both ways (one never connected), UDP-Lite with its checksum
 * coverage, ping sockets over ICMP and ICMPv6, a unix datagram pair with one end shut down. A
 * checkpoint that leaves it running, then two checkpoint --kill and restart rounds; the target
 * and its worker check every socket's name, poll events, options and traffic. A UDP socket with
 * a datagram in its receive queue is refused, and the datagram is still there.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DatagramSocketTest {
    @TempDir
    Path tmp;

    @Test
    void shut_down_udp_udplite_and_ping_sockets_shared_with_a_worker() throws Exception {
        try (Target t = Target.start(tmp, "datagram_sockets")) {
            t.awaitReady();
            if (!Amber.nocr()) {
                Amber.Result live = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("live").toString());
                assertEquals(0, live.exit(), live.describe());
                for (int round = 0; round < 2; round++) {
                    Path image = tmp.resolve("image" + round);
                    t.checkpointKill(image);
                    t.restart(image);
                }
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    @Test
    void udp_socket_with_a_queued_datagram_is_refused() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "datagram_sockets", "queued")) {
            t.awaitReady();
            String fd = t.logLines().stream().filter(l -> l.startsWith("QUEUED ")).findFirst().orElseThrow()
                    .substring(7);
            Path image = tmp.resolve("image");
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
            assertEquals(3, r.exit(), r.describe());
            List<String> refusals = r.stderrLines().stream().filter(l -> l.startsWith("pid " + t.pid + " fd ")).toList();
            assertEquals(1, refusals.size(), r.describe());
            String line = refusals.getFirst();
            assertEquals(true, line.matches("pid " + t.pid + " fd " + fd + ": socket \\(udp 127\\.0\\.0\\.1:\\d+\\): datagrams"
                    + " queued \\(\\d+ bytes of receive buffer\\): not supported yet \\(read them first\\)"), line);
            assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left an image");
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "the target to run free");
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }
}
