package dev.amber.kind.tty;

import dev.amber.image.proto.Pty;
import dev.amber.kind.FdRef;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Tty;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A pseudo-terminal pair's state, read through Amber's own copies of its ends while the tree is
 * stopped: a pidfd copy of the master (the same open file description) and, when a slave is open
 * in the tree, a slave of Amber's own opened with TIOCGPTPEER.
 *
 * <p>Termios, window size and the master's packet mode belong to the pair; the lock to the
 * master; exclusive mode to each end. Data still queued is read out, which consumes it, and
 * written straight back, so a process that goes on running after the checkpoint reads the same:
 * output (slave to master) through the slave with output processing off, input (master to slave)
 * through the master with echo, signals and editing off but canonical mode as it was, so lines
 * stay lines. Each write-back waits until the line discipline has the bytes again.
 */
final class PtyState {
    static final int O_RDWR = 2, O_NOCTTY = 0400, O_NONBLOCK = 04000, O_CLOEXEC = 02000000, O_LARGEFILE = 0100000,
            O_APPEND = 02000, O_ACCMODE = 3;
    /** At most this much queued data is kept per direction (n_tty holds 4 KiB; the rest waits in flip buffers). */
    private static final int MAX_QUEUED = 1 << 20;
    private static final long SETTLE_NANOS = 2_000_000_000L;

    private PtyState() {}

    /** Reads pair {@code index} whose master is {@code master}; {@code slaveOpen} when the tree holds a slave. */
    static Pty read(FdRef master, int index, boolean slaveOpen) throws IOException {
        int m = Pidfd.grab(master.pid(), master.fd());
        int s = -1;
        try {
            byte[] termios = Tty.get(m, Termios.TCGETS2, Termios.SIZE, "TCGETS2");
            ByteBuffer ws = ByteBuffer.wrap(Tty.get(m, Termios.TIOCGWINSZ, Termios.WINSIZE, "TIOCGWINSZ"))
                    .order(ByteOrder.LITTLE_ENDIAN);
            boolean packet = Tty.getInt(m, Termios.TIOCGPKT, "TIOCGPKT") != 0;
            boolean locked = Tty.getInt(m, Termios.TIOCGPTLCK, "TIOCGPTLCK") != 0;
            Pty.Builder pty = Pty.newBuilder().setTermios(com.google.protobuf.ByteString.copyFrom(termios))
                    .setRows(ws.getShort(0) & 0xffff).setCols(ws.getShort(2) & 0xffff)
                    .setXpixel(ws.getShort(4) & 0xffff).setYpixel(ws.getShort(6) & 0xffff)
                    .setPacket(packet).setLocked(locked)
                    .setMasterExclusive(Tty.getInt(m, Termios.TIOCGEXCL, "TIOCGEXCL") != 0);
            Map<String, Object> a = Files.readAttributes(Path.of("/dev/pts/" + index), "unix:uid,gid,mode");
            pty.setUid((Integer) a.get("uid")).setGid((Integer) a.get("gid")).setMode((Integer) a.get("mode") & 07777);
            if (slaveOpen && !locked) {
                s = peer(m, O_RDWR | O_NONBLOCK);
                pty.setSlaveExclusive(Tty.getInt(s, Termios.TIOCGEXCL, "TIOCGEXCL") != 0);
            }
            queued(m, s, termios, packet, pty);
            return pty.build();
        } finally {
            if (s >= 0) {
                Pidfd.close(s);
            }
            Pidfd.close(m);
        }
    }

    /** A new open file description of the slave of master {@code m} (TIOCGPTPEER, Linux 4.13), close-on-exec in Amber. */
    static int peer(int m, int flags) throws ErrnoException {
        // Not O_CLOEXEC: TIOCGPTPEER would keep it among the file's status flags, where fdinfo shows it.
        int fd = (int) Tty.ioctl(m, Termios.TIOCGPTPEER, flags | O_NOCTTY, "TIOCGPTPEER");
        Tty.setCloexec(fd);
        return fd;
    }

    /** Takes the queued data out and puts it back. The master's status flags and packet mode are put back too. */
    private static void queued(int m, int s, byte[] termios, boolean packet, Pty.Builder pty) throws IOException {
        int flags = Tty.getFlags(m);
        Tty.setFlags(m, flags | O_NONBLOCK);
        if (packet) {
            Tty.setInt(m, Termios.TIOCPKT, 0, "TIOCPKT 0");   // a read would start with a status byte
        }
        try {
            byte[] output = drain(m);
            byte[] input = new byte[0];
            if (s >= 0) {
                Tty.set(m, Termios.TCSETS2, Termios.readAll(termios), "TCSETS2");
                try {
                    input = drain(s);
                } finally {
                    Tty.set(m, Termios.TCSETS2, termios, "TCSETS2");
                }
            }
            pty.setInput(com.google.protobuf.ByteString.copyFrom(input));
            pty.setOutput(com.google.protobuf.ByteString.copyFrom(output));
            writeBack(m, s, termios, input, output);
        } finally {
            if (packet) {
                Tty.setInt(m, Termios.TIOCPKT, 1, "TIOCPKT 1");
            }
            Tty.setFlags(m, flags);
        }
    }

    /**
     * Puts {@code input} into the slave's read buffer and {@code output} into the master's, on a
     * pair whose termios is {@code termios}; leaves termios as it was. {@code s} may be -1 when
     * there is nothing to put back through the slave.
     */
    static void writeBack(int m, int s, byte[] termios, byte[] input, byte[] output) throws IOException {
        if (input.length > 0 && s >= 0) {
            Tty.set(m, Termios.TCSETS2, Termios.quietInput(termios), "TCSETS2");
            try {
                Tty.write(m, input);
                settle(s, Termios.visible(termios, input));
            } finally {
                Tty.set(m, Termios.TCSETS2, termios, "TCSETS2");
            }
        }
        if (output.length > 0 && s >= 0) {
            Tty.set(m, Termios.TCSETS2, Termios.rawOutput(termios), "TCSETS2");
            try {
                Tty.write(s, output);
                settle(m, output.length);
            } finally {
                Tty.set(m, Termios.TCSETS2, termios, "TCSETS2");
            }
        }
    }

    /**
     * Waits until the line discipline on {@code fd}'s side shows {@code visible} bytes (a pty
     * write lands in a flip buffer that a kernel worker hands on). With nothing a reader could
     * see (a partial line in canonical mode), a non-blocking read that finds nothing waits for
     * that worker itself (n_tty_read calls tty_buffer_flush_work) and takes nothing.
     */
    private static void settle(int fd, int visible) throws IOException {
        if (visible == 0) {
            Tty.read(fd, 1);
            return;
        }
        long deadline = System.nanoTime() + SETTLE_NANOS;
        while (Tty.getInt(fd, Termios.FIONREAD, "FIONREAD") < visible && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
    }

    /** Everything readable now on a non-blocking descriptor (master, or a slave in non-canonical VMIN 0 mode). */
    private static byte[] drain(int fd) throws ErrnoException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        while (all.size() < MAX_QUEUED) {
            byte[] b = Tty.read(fd, 4096);
            if (b.length == 0) {
                break;
            }
            all.writeBytes(b);
        }
        return all.toByteArray();
    }

    /** Flags for a new end with the saved {@code flags}: access mode, O_NONBLOCK, O_APPEND, O_LARGEFILE. */
    static int openFlags(int flags) {
        return (flags & (O_ACCMODE | O_NONBLOCK | O_APPEND | O_LARGEFILE));
    }
}
