package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Device nodes (src/test/c/device.c): stateless devices, unlinked nodes made with mknod, a block
 * device at an offset, /dev/cpu_dma_latency with its PM-QoS request in force again after the
 * restart, a virtual console with its line settings; and the devices whose open file holds state
 * Amber cannot save, refused by name with the target left running.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DeviceTest {
    /** PM_QOS_CPU_LATENCY_DEFAULT_VALUE: no request in force. */
    private static final int NO_CONSTRAINT = 2_000_000_000;

    @TempDir
    Path tmp;

    /** The loop device a target bound; detached after the test if the target did not get to it. */
    private String loopToDetach;

    @AfterEach
    void detachLoop() throws IOException, InterruptedException {
        if (loopToDetach != null && Files.exists(Path.of("/sys/block/" + loopToDetach.substring(5) + "/loop"))) {
            new ProcessBuilder("losetup", "-d", loopToDetach).inheritIO().start().waitFor();
        }
    }

    @Test
    void stateless() throws Exception {
        roundTrip("stateless");
    }

    @Test
    void deleted_node() throws Exception {
        roundTrip("deleted");
    }

    @Test
    void hung_up_pty_slave() throws Exception {
        roundTrip("hungup");
    }

    @Test
    void block_device_at_offset() throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/loop-control")), "needs loop devices");
        roundTrip("block");
    }

    /** The request is gone with the killed process and in force again once the restarted one holds it. */
    @Test
    void cpu_dma_latency() throws Exception {
        Assumptions.assumeTrue(latencyTarget() == NO_CONSTRAINT, "another program holds a CPU latency request");
        try (Target t = Target.start(tmp, "device", "pmqos")) {
            t.awaitReady();
            assertEquals(33, latencyTarget(), "the target's request before the checkpoint");
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                assertEquals(NO_CONSTRAINT, latencyTarget(), "the request outlived its process");
                t.restart(image);
                assertEquals(33, latencyTarget(), "the restarted process's request");
            }
            CheckpointRestartTest.assertSame(before, t);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /** Line settings changed behind the process's back between checkpoint and restart come back as saved. */
    @Test
    void virtual_console_settings() throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/tty63")), "needs virtual consoles");
        try (Target t = Target.start(tmp, "device", "terminal")) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                stty("/dev/tty63", "icanon", "echo", "min", "1", "time", "0", "-igncr", "rows", "24", "cols", "80");
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(before, t);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    @Test
    void refused_devices() throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/kvm")) && Files.exists(Path.of("/dev/net/tun")),
                "needs /dev/kvm and /dev/net/tun");
        try (Target t = Target.start(tmp, "device", "refuse")) {
            t.awaitReady();
            String loop = TtyRefusalTest.line(t, "LOOP ");
            loopToDetach = loop;
            String map = TtyRefusalTest.line(t, "MAP ");
            int loopMinor = Integer.parseInt(loop.substring("/dev/loop".length()));
            refused(t, List.of(
                    "pid " + t.pid + " fd " + fd(t, "/dev/kvm") + ": character device /dev/kvm (10:232): its per-open"
                            + " state (virtual machines) cannot be saved",
                    "pid " + t.pid + " fd " + fd(t, "/dev/fuse") + ": character device /dev/fuse (10:229): its"
                            + " per-open state (a FUSE connection and its mount's requests) cannot be saved",
                    "pid " + t.pid + " fd " + fd(t, "/dev/net/tun") + ": character device /dev/net/tun (10:200): its"
                            + " per-open state (the tun/tap network interface attached to it) cannot be saved: network"
                            + " devices are not supported",
                    "pid " + t.pid + " fd " + fd(t, "/dev/kmsg") + ": character device /dev/kmsg (1:11): a reader's"
                            + " place in the kernel log cannot be read: only /dev/kmsg opened write-only is supported",
                    "pid " + t.pid + " address 0x" + map.replace("-", "-0x") + ": mapping of block device " + loop
                            + " (7:" + loopMinor + "): mappings of block devices are not supported yet"));
        }
    }

    /** Two writable open files of /dev/cpu_dma_latency: which holds the request in force cannot be told. */
    @Test
    void cpu_dma_latency_ambiguous() throws Exception {
        Assumptions.assumeTrue(latencyTarget() == NO_CONSTRAINT, "another program holds a CPU latency request");
        try (Target t = Target.start(tmp, "device", "pmqos2")) {
            t.awaitReady();
            String first = "pid " + t.pid + " fd 3", second = "pid " + t.pid + " fd 4";
            String what = ": character device /dev/cpu_dma_latency (10:259): its PM-QoS request cannot be told apart"
                    + " from that of ";
            String why = " (the device reads only the strictest request in force, 44 us): hold the request through"
                    + " one open file";
            refused(t, List.of(first + what + second + why, second + what + first + why));
        }
    }

    private void roundTrip(String mode) throws Exception {
        try (Target t = Target.start(tmp, "device", mode)) {
            t.awaitReady();
            if (mode.equals("block")) {
                loopToDetach = TtyRefusalTest.line(t, "LOOP ");
            }
            ProcSnapshot before = masked(t.snapshot());
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(before, t, DeviceTest::masked);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /** checkpoint exits 3 with exactly {@code lines}; the target runs on untouched and PASSes. */
    private void refused(Target t, List<String> lines) throws Exception {
        if (!Amber.nocr()) {
            ProcSnapshot before = t.snapshot();
            Path image = tmp.resolve("image");
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
            assertEquals(3, r.exit(), r.describe());
            List<String> named = r.stderrLines().stream().filter(l -> l.startsWith("pid ")).sorted().toList();
            assertEquals(lines.stream().sorted().toList(), named, r.describe());
            assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left an inventory");
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
            CheckpointRestartTest.assertSame(before, t);
        }
        t.sigterm();
        t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
    }

    private static String fd(Target t, String path) throws Exception {
        return TtyRefusalTest.line(t, "FD " + path + " ");
    }

    /** What a read of /dev/cpu_dma_latency gives: the CPU latency target in force, in microseconds. */
    static int latencyTarget() throws IOException {
        try (FileChannel ch = FileChannel.open(Path.of("/dev/cpu_dma_latency"), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b);
            return b.getInt(0);
        }
    }

    private static void stty(String tty, String... settings) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("stty", "-F", tty));
        cmd.addAll(List.of(settings));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + ": " + out);
    }

    /**
     * An unlinked node comes back as a new inode, whose number no restart can choose, and a hung-up
     * pseudo-terminal as the lowest free index: both masked.
     */
    private static ProcSnapshot masked(ProcSnapshot s) {
        Map<Integer, String> fds = new TreeMap<>();
        s.fds().forEach((fd, d) -> fds.put(fd, d.contains(" (deleted) ")
                ? d.replaceAll(" ino=\\d+", " ino=<new>").replaceAll("/dev/pts/\\d+ ", "/dev/pts/<new> ") : d));
        return new ProcSnapshot(s.maps(), s.status(), fds);
    }
}
