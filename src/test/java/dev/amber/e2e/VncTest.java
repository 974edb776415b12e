package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VNC desktop: a TigerVNC X server (Xtigervnc, MIT-SHM on as by default, though xterm and xclock
 * do not use it) with an xterm running bash and an xclock on its display, all children of one
 * session script. A line is typed into the xterm through the X server (xdotool) and runs; the
 * whole session (server, clients, their X11 unix-socket connections, the listening VNC port) is
 * checkpointed with --kill and restarted. Then a client connecting to the VNC port gets the RFB
 * greeting, screenshots (xwd on the display, vncsnapshot through the VNC port) show the same
 * xterm with its scrollback and the clock moved on, and a line typed into the xterm runs in its
 * shell. Screenshots are kept in the test directory (xwd as PNG through xwdtopnm | pnmtopng).
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class VncTest {
    /** xterm at +5+5 (60x12 characters), xclock at +450+10: the xterm is left of this column. */
    private static final int CLOCK_LEFT = 440;

    @TempDir
    Path tmp;

    @Test
    void vnc_desktop_xterm_xclock() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine (AMBER_TEST_NOCR=1)");
        int display = freeDisplay();
        int port = 5900 + display;
        Path script = tmp.resolve("session.sh");
        Files.writeString(script, """
                #!/bin/bash
                # The desktop: an X server with a VNC port, an xterm with bash, a clock; all children of this shell.
                D=$1 PORT=$2 LOGS=$3
                Xtigervnc :$D -rfbport $PORT -SecurityTypes None -geometry 640x400 -depth 24 -nolisten tcp \\
                  -AlwaysShared -desktop amber >"$LOGS/xvnc.log" 2>&1 &
                for i in $(seq 100); do [ -S /tmp/.X11-unix/X$D ] && break; sleep 0.1; done
                export DISPLAY=:$D
                xterm -geometry 60x12+5+5 -e bash --norc --noprofile >"$LOGS/xterm.log" 2>&1 &
                xclock -update 1 -geometry 150x150+450+10 >"$LOGS/xclock.log" 2>&1 &
                wait
                """);
        Process session = new ProcessBuilder("bash", script.toString(), Integer.toString(display), Integer.toString(port),
                tmp.toString()).redirectErrorStream(true).redirectOutput(tmp.resolve("session.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        List<Long> tree = new ArrayList<>();
        Amber.Running restart = null;
        try {
            Procs.await(() -> run(display, "xdotool", "search", "--onlyvisible", "--class", "xterm") == 0
                    && run(display, "xdotool", "search", "--onlyvisible", "--class", "xclock") == 0,
                    Duration.ofSeconds(30), "the xterm and the clock on display :" + display);
            tree.addAll(ScreenTest.descendants(session.pid()));   // now, so that a failure below still ends them
            Path before = tmp.resolve("before");
            // The xterm's window shows before its shell reads: what is typed before then is lost.
            for (int attempt = 0; attempt < 5 && !Files.exists(before); attempt++) {
                type(display, "echo $((6*7)) > " + before);
                for (int i = 0; i < 30 && !Files.exists(before); i++)
                    Thread.sleep(100);
            }
            assertTrue(Files.exists(before), "a line typed into the xterm did not run in its shell");
            Thread.sleep(300);   // the prompt after it is drawn
            assertTrue(tree.size() >= 5, "session, Xtigervnc, xterm, bash, xclock: " + tree);
            Path shotBefore = screenshot(display, "vnc-before.png");
            Path vncBefore = vncSnapshot(port, "vnc-before.jpg");

            Path image = tmp.resolve("image");
            Amber.Result c = ScreenTest.checkpoint(tmp, session.pid(), image);
            session.waitFor(10, TimeUnit.SECONDS);
            for (long pid : tree) {
                Procs.await(() -> !Procs.exists(pid), Duration.ofSeconds(15), "pid " + pid + " to be gone");
            }
            restart = Amber.start(tmp.resolve("tool"), "restart", "-D", image.toString(), "--wait");
            Amber.Running r = restart;
            Procs.await(() -> Procs.exists(session.pid()) && Procs.runsFree(session.pid()) || !r.isAlive(),
                    Duration.ofSeconds(60), "the session to run again");
            if (!r.isAlive())
                ScreenTest.skipIfPtyTaken(r.result().stderr());
            assertTrue(r.isAlive(), "restart ended:\n" + (r.isAlive() ? "" : r.result().describe()));
            System.out.println("vnc: " + c.stdout().strip());

            assertEquals("RFB 003.008\n", greeting(port), "the VNC port answers as before");
            Thread.sleep(2500);   // the clock's second hand moves on
            Path shotAfter = screenshot(display, "vnc-after.png");
            compare(shotBefore, shotAfter, CLOCK_LEFT);
            // As a VNC client sees it, through the restored port (JPEG: 16-pixel blocks, so the
            // compared part stops at the last whole block left of the clock).
            compare(vncBefore, vncSnapshot(port, "vnc-after.jpg"), CLOCK_LEFT / 16 * 16 - 16);

            Path after = tmp.resolve("after");
            type(display, "echo $((7*8)) > " + after);
            Procs.await(() -> Files.exists(after), Duration.ofSeconds(10), "a line typed after the restart to run");
            assertEquals("56", Files.readString(after).strip());
            screenshot(display, "vnc-typed.png");
            System.out.println("vnc: " + r.stdoutSoFar().strip());
        } finally {
            if (session.isAlive() || (restart != null && restart.isAlive()))
                tree.addAll(ScreenTest.descendants(session.pid()));
            for (long pid : tree.reversed()) {
                ScreenTest.kill(pid);
            }
            session.destroyForcibly();
            if (restart != null)
                restart.close();
            Files.deleteIfExists(Path.of("/tmp/.X11-unix/X" + display));
            Files.deleteIfExists(Path.of("/tmp/.X" + display + "-lock"));
        }
    }

    /** The xterm's side (left of {@code split}) is the same to the pixel; the clock's side has changed (it runs). */
    private static void compare(Path before, Path after, int split) throws IOException {
        BufferedImage a = ImageIO.read(before.toFile()), b = ImageIO.read(after.toFile());
        assertEquals(a.getWidth(), b.getWidth(), "screenshot width");
        assertEquals(a.getHeight(), b.getHeight(), "screenshot height");
        long xtermDiff = 0, clockDiff = 0;
        for (int y = 0; y < a.getHeight(); y++) {
            for (int x = 0; x < a.getWidth(); x++) {
                if (a.getRGB(x, y) != b.getRGB(x, y)) {
                    if (x < split)
                        xtermDiff++;
                    else
                        clockDiff++;
                }
            }
        }
        assertEquals(0, xtermDiff, "pixels of the xterm's side that differ between " + before + " and " + after);
        assertTrue(clockDiff > 0, "the clock did not move between " + before + " and " + after);
    }

    private Path screenshot(int display, String name) throws IOException, InterruptedException {
        Path png = tmp.resolve(name);
        int rc = shell(display, "xwd -root | xwdtopnm 2>/dev/null | pnmtopng > " + png);
        assertEquals(0, rc, "xwd | xwdtopnm | pnmtopng for " + png);
        return png;
    }

    /** The desktop as a VNC client gets it from {@code port} (vncsnapshot writes JPEG). */
    private Path vncSnapshot(int port, String name) throws IOException, InterruptedException {
        Path jpg = tmp.resolve(name);
        int rc = run(0, "timeout", "30", "vncsnapshot", "-quiet", "-allowblank", "-encodings", "raw", "-nocursor",
                "127.0.0.1::" + port, jpg.toString());
        assertEquals(0, rc, "vncsnapshot of port " + port + " into " + jpg);
        return jpg;
    }

    /** Types a line into the xterm through the X server: the pointer over it (no window manager: focus follows it). */
    private static void type(int display, String line) throws IOException, InterruptedException {
        assertEquals(0, run(display, "xdotool", "mousemove", "100", "60"), "xdotool mousemove");
        assertEquals(0, run(display, "xdotool", "type", "--delay", "20", line), "xdotool type");
        assertEquals(0, run(display, "xdotool", "key", "Return"), "xdotool key Return");
    }

    private static String greeting(int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(5000);
            InputStream in = s.getInputStream();
            return new String(in.readNBytes(12), StandardCharsets.US_ASCII);
        }
    }

    private static int run(int display, String... cmd) {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().put("DISPLAY", ":" + display);
            Process p = pb.start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (IOException | InterruptedException e) {
            return -1;
        }
    }

    private static int shell(int display, String command) {
        return run(display, "bash", "-c", command);
    }

    /** A display number with no X socket or lock file, whose VNC port is free. */
    private static int freeDisplay() throws IOException {
        for (int d = 40; d < 99; d++) {
            if (Files.exists(Path.of("/tmp/.X11-unix/X" + d)) || Files.exists(Path.of("/tmp/.X" + d + "-lock")))
                continue;
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress("0.0.0.0", 5900 + d));
                return d;
            } catch (IOException busy) {
                // next
            }
        }
        throw new AssertionError("no free X display between :40 and :98");
    }
}
