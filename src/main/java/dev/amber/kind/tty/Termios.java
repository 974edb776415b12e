package dev.amber.kind.tty;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The tty ioctls Amber uses (x86-64, asm-generic/ioctls.h) and {@code struct termios2} as
 * TCGETS2 fills it:
 *
 * <pre>
 *  0 c_iflag  u32     4 c_oflag  u32     8 c_cflag  u32    12 c_lflag  u32
 * 16 c_line   u8     17 c_cc[19] u8     36 c_ispeed u32    40 c_ospeed u32     (44 bytes)
 * </pre>
 */
final class Termios {
    static final long TCGETS2 = 0x802C542AL, TCSETS2 = 0x402C542BL, TIOCEXCL = 0x540C, TIOCSCTTY = 0x540E,
            TIOCSPGRP = 0x5410, TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414, FIONREAD = 0x541B, TIOCPKT = 0x5420,
            TIOCGPTN = 0x80045430L, TIOCSPTLCK = 0x40045431L, TIOCGPKT = 0x80045438L, TIOCGPTLCK = 0x80045439L,
            TIOCGEXCL = 0x80045440L, TIOCGPTPEER = 0x5441;
    static final int SIZE = 44, WINSIZE = 8;

    private static final int IFLAG = 0, OFLAG = 4, LFLAG = 12, CC = 17;
    // c_cc indices
    private static final int VERASE = 2, VKILL = 3, VEOF = 4, VTIME = 5, VMIN = 6, VEOL = 11, VREPRINT = 12,
            VDISCARD = 13, VWERASE = 14, VLNEXT = 15, VEOL2 = 16;
    private static final int ISTRIP = 040, INLCR = 0100, IGNCR = 0200, ICRNL = 0400, IUCLC = 01000, IXON = 02000,
            IXOFF = 010000;
    private static final int OPOST = 1;
    private static final int ISIG = 1, ICANON = 2, ECHO = 010, ECHOE = 020, ECHOK = 040, ECHONL = 0100,
            ECHOCTL = 01000, ECHOPRT = 02000, ECHOKE = 04000, FLUSHO = 010000, IEXTEN = 0100000;

    private Termios() {}

    private static ByteBuffer buf(byte[] t) {
        return ByteBuffer.wrap(t).order(ByteOrder.LITTLE_ENDIAN);
    }

    static boolean canonical(byte[] t) {
        return (buf(t).getInt(LFLAG) & ICANON) != 0;
    }

    /** Non-canonical with VMIN 0 and VTIME 0: a read returns whatever the line discipline holds, at once. */
    static byte[] readAll(byte[] saved) {
        byte[] t = saved.clone();
        ByteBuffer b = buf(t);
        b.putInt(LFLAG, b.getInt(LFLAG) & ~ICANON);
        t[CC + VMIN] = 0;
        t[CC + VTIME] = 0;
        return t;
    }

    /**
     * For writing queued input back through the master: as saved (canonical or not, so lines are
     * delimited as they were), but no echo, no signals, no flow control, no input mapping and no
     * editing characters, so the bytes land in the read buffer as they were taken out.
     */
    static byte[] quietInput(byte[] saved) {
        byte[] t = saved.clone();
        ByteBuffer b = buf(t);
        b.putInt(IFLAG, b.getInt(IFLAG) & ~(ISTRIP | INLCR | IGNCR | ICRNL | IUCLC | IXON | IXOFF));
        b.putInt(LFLAG, b.getInt(LFLAG) & ~(ISIG | ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOPRT | ECHOKE | FLUSHO
                | IEXTEN));
        for (int c : new int[] {VERASE, VKILL, VEOF, VREPRINT, VDISCARD, VWERASE, VLNEXT}) {
            t[CC + c] = 0;   // _POSIX_VDISABLE
        }
        return t;
    }

    /** For writing queued output back through the slave: no output processing (ONLCR and the like ran already). */
    static byte[] rawOutput(byte[] saved) {
        byte[] t = saved.clone();
        ByteBuffer b = buf(t);
        b.putInt(OFLAG, b.getInt(OFLAG) & ~OPOST);
        return t;
    }

    /**
     * How many of {@code data}'s bytes a canonical reader can see once it is all in: up to the last
     * line delimiter ('\n', VEOL, VEOL2); all of it when not canonical.
     */
    static int visible(byte[] saved, byte[] data) {
        if (!canonical(saved)) {
            return data.length;
        }
        byte eol = saved[CC + VEOL], eol2 = saved[CC + VEOL2];
        for (int i = data.length - 1; i >= 0; i--) {
            byte c = data[i];
            if (c == '\n' || (c != 0 && (c == eol || c == eol2))) {
                return i + 1;
            }
        }
        return 0;
    }
}
