package dev.amber.kind.tty;

import dev.amber.image.proto.Pty;
import dev.amber.kind.TreeRestore;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Tty;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A pseudo-terminal pair made again in Amber's own process at restart, with the saved index,
 * held for the whole restart ({@link TreeRestore#hold}) so that every puppet can take its end.
 * The master is the one open file description of the master end; every saved slave description
 * is opened anew from it (TIOCGPTPEER), so no path lookup is involved.
 *
 * <p>There is no ioctl to ask devpts for an index: it hands out the lowest free one. So
 * /dev/ptmx is opened until the saved index comes, the lower ones being held open meanwhile and
 * closed after; if a higher one comes first, the saved index is taken by another terminal.
 */
record PtyPair(int index, int master, Pty pty) {
    private static final int PTY_MAX_TRIES = 4096;

    static Object key(int index) {
        return "tty: pty " + index;
    }

    /** The pair held for {@code index}, made now from {@code pty} if it is not yet. */
    static PtyPair hold(TreeRestore tree, int index, Pty pty, String who) throws IOException {
        return tree.hold(key(index), () -> {
            if (pty == null) {
                throw new IOException(who + ": pty " + index + " has no saved state before this descriptor"
                        + " (the image is not in tree order)");
            }
            return make(tree, index, pty);
        });
    }

    private static PtyPair make(TreeRestore tree, int index, Pty pty) throws IOException {
        int m = openIndex(index);
        tree.keep(m);
        Tty.setInt(m, Termios.TIOCSPTLCK, 0, "TIOCSPTLCK 0");
        byte[] termios = pty.getTermios().toByteArray();
        boolean needSlave = !pty.getInput().isEmpty() || !pty.getOutput().isEmpty() || pty.getSlaveExclusive();
        int s = needSlave ? tree.keep(PtyState.peer(m, PtyState.O_RDWR | PtyState.O_NONBLOCK)) : -1;
        Path pts = Path.of("/dev/pts/" + index);
        Files.setAttribute(pts, "unix:gid", pty.getGid());
        Files.setAttribute(pts, "unix:uid", pty.getUid());
        Files.setAttribute(pts, "unix:mode", pty.getMode());
        byte[] ws = ByteBuffer.allocate(Termios.WINSIZE).order(ByteOrder.LITTLE_ENDIAN).putShort((short) pty.getRows())
                .putShort((short) pty.getCols()).putShort((short) pty.getXpixel()).putShort((short) pty.getYpixel())
                .array();
        Tty.set(m, Termios.TIOCSWINSZ, ws, "TIOCSWINSZ");
        Tty.set(m, Termios.TCSETS2, termios, "TCSETS2");
        PtyState.writeBack(m, s, termios, pty.getInput().toByteArray(), pty.getOutput().toByteArray());
        if (pty.getPacket()) {
            Tty.setInt(m, Termios.TIOCPKT, 1, "TIOCPKT 1");
        }
        if (pty.getMasterExclusive()) {
            Tty.ioctl(m, Termios.TIOCEXCL, 0, "TIOCEXCL");
        }
        if (s >= 0 && pty.getSlaveExclusive()) {
            Tty.ioctl(s, Termios.TIOCEXCL, 0, "TIOCEXCL");
        }
        if (pty.getLocked()) {
            Tty.setInt(m, Termios.TIOCSPTLCK, 1, "TIOCSPTLCK 1");
        }
        return new PtyPair(index, m, pty);
    }

    /** /dev/ptmx opened until devpts hands out {@code index}; Amber's descriptor of that master. */
    private static int openIndex(int index) throws IOException {
        List<Integer> lower = new ArrayList<>();
        try {
            for (int i = 0; i < PTY_MAX_TRIES; i++) {
                int fd = Tty.open("/dev/ptmx", PtyState.O_RDWR | PtyState.O_NOCTTY | PtyState.O_CLOEXEC
                        | PtyState.O_NONBLOCK);
                int got = Tty.getInt(fd, Termios.TIOCGPTN, "TIOCGPTN");
                if (got == index) {
                    return fd;
                }
                if (got < index) {
                    lower.add(fd);   // held open, so that the next open gets a higher index
                    continue;
                }
                Pidfd.close(fd);
                throw new IOException("pty " + index + ": /dev/pts/" + index + " is in use by another terminal"
                        + " (devpts handed out " + got + " instead): end the program that holds it (fuser -v /dev/pts/"
                        + index + ") and restart again");
            }
            throw new IOException("pty " + index + ": devpts did not hand out index " + index + " in "
                    + PTY_MAX_TRIES + " tries");
        } finally {
            lower.forEach(Pidfd::close);
        }
    }

    /** A new slave open file description with the saved {@code flags}, opened while the pair is unlocked. */
    int openSlave(int flags) throws IOException {
        if (pty.getLocked()) {
            Tty.setInt(master, Termios.TIOCSPTLCK, 0, "TIOCSPTLCK 0");
        }
        try {
            return PtyState.peer(master, PtyState.openFlags(flags));
        } finally {
            if (pty.getLocked()) {
                Tty.setInt(master, Termios.TIOCSPTLCK, 1, "TIOCSPTLCK 1");
            }
        }
    }
}
