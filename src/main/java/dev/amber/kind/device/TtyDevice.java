package dev.amber.kind.device;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.TtySettings;
import dev.amber.sys.Arch;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Tty;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A terminal device that is not a pseudo-terminal (the console, a virtual console, a serial
 * line): its termios and window size belong to the device, not to the open file, so they are
 * read at checkpoint through Amber's copy of the descriptor and, at restart, set again only where
 * they differ (on the same host they are usually still in force; a window size set anew would
 * send SIGWINCH to the terminal's foreground group for nothing).
 */
final class TtyDevice {
    /** asm-generic/ioctls.h, x86-64: TCGETS2/TCSETS2 take struct termios2 (44 bytes), TIOC[GS]WINSZ struct winsize (8). */
    private static final long TCGETS2 = 0x802C542AL, TCSETS2 = 0x402C542BL, TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414;
    private static final int TERMIOS2_SIZE = 44, WINSIZE = 8;

    private TtyDevice() {}

    static TtySettings read(int pid, int fd) throws IOException {
        int copy = Pidfd.grab(pid, fd);
        try {
            byte[] termios = Tty.get(copy, TCGETS2, TERMIOS2_SIZE, "TCGETS2 pid " + pid + " fd " + fd);
            ByteBuffer ws = ByteBuffer.wrap(Tty.get(copy, TIOCGWINSZ, WINSIZE, "TIOCGWINSZ pid " + pid + " fd " + fd))
                    .order(ByteOrder.LITTLE_ENDIAN);
            return TtySettings.newBuilder().setTermios(ByteString.copyFrom(termios))
                    .setRows(ws.getShort(0) & 0xffff).setCols(ws.getShort(2) & 0xffff)
                    .setXpixel(ws.getShort(4) & 0xffff).setYpixel(ws.getShort(6) & 0xffff).build();
        } finally {
            Pidfd.close(copy);
        }
    }

    /** Puts {@code s} back on the terminal open at {@code fd} in the puppet, where it differs. */
    static void restore(Injector inj, long fd, TtySettings s, String what) throws IOException {
        byte[] termios = s.getTermios().toByteArray();
        inj.check("ioctl(TCGETS2) " + what, Arch.SYS_IOCTL, fd, TCGETS2, inj.scratch());
        if (!Arrays.equals(inj.get(0, TERMIOS2_SIZE), termios)) {
            inj.check("ioctl(TCSETS2) " + what, Arch.SYS_IOCTL, fd, TCSETS2, inj.put(0, termios));
        }
        byte[] ws = ByteBuffer.allocate(WINSIZE).order(ByteOrder.LITTLE_ENDIAN).putShort((short) s.getRows())
                .putShort((short) s.getCols()).putShort((short) s.getXpixel()).putShort((short) s.getYpixel()).array();
        inj.check("ioctl(TIOCGWINSZ) " + what, Arch.SYS_IOCTL, fd, TIOCGWINSZ, inj.scratch());
        if (!Arrays.equals(inj.get(0, WINSIZE), ws)) {
            inj.check("ioctl(TIOCSWINSZ) " + what, Arch.SYS_IOCTL, fd, TIOCSWINSZ, inj.put(0, ws));
        }
    }
}
