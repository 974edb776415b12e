package dev.amber.kind.device;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Device;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TreeRestore;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Tty;
import java.io.IOException;

/**
 * A pseudo-terminal slave whose master was closed: pty_close hung it up (its open files now
 * read end of file and fail writes and ioctls with EIO) and devpts removed its node, so its link
 * reads {@code /dev/pts/N (deleted)}. Nothing of it can be read, and nothing is left to save but
 * its open flags.
 *
 * <p>At restart one new pair per saved index is made in Amber and held for the whole restart;
 * each saved open file is a new slave of it (TIOCGPTPEER) taken by its puppet. Once every
 * process is restored, before any runs, Amber closes the master, which hangs the slaves up as
 * before. devpts hands out the lowest free index, so N may differ.
 */
final class HungUpPty {
    private static final int O_RDWR = 2, O_NOCTTY = 0400, O_NONBLOCK = 04000, O_CLOEXEC = 02000000,
            O_ACCMODE = 3, O_APPEND = 02000, O_LARGEFILE = 0100000;
    /** asm-generic/ioctls.h: unlock the slave; open a slave from the master (Linux 4.13). */
    private static final long TIOCSPTLCK = 0x40045431L, TIOCGPTPEER = 0x5441;

    private HungUpPty() {}

    static boolean is(Device dev) {
        return dev.getDeleted() && DeviceClass.isPtySlave(dev.getMajor());
    }

    /** A new slave of the pair made for this saved index, in the puppet; returns its descriptor there. */
    static long open(RestoreContext ctx, Descriptor d) throws IOException {
        Device dev = d.getDevice();
        TreeRestore tree = ctx.tree();
        int master = tree.hold("device: hung-up pty " + dev.getMinor(), () -> {
            int m = Tty.open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
            boolean[] closed = {false};
            TreeRestore.Action close = () -> {
                if (!closed[0]) {
                    closed[0] = true;
                    Pidfd.close(m);   // pty_close hangs the slaves up now, before any process runs
                }
            };
            tree.atEnd(close);
            tree.onFailure(close);
            Tty.setInt(m, TIOCSPTLCK, 0, "TIOCSPTLCK 0");
            return m;
        });
        int flags = dev.getFlags() & (O_ACCMODE | O_NONBLOCK | O_APPEND | O_LARGEFILE);
        int slave = (int) Tty.ioctl(master, TIOCGPTPEER, flags | O_NOCTTY, "TIOCGPTPEER for fd " + d.getFd()
                + " " + dev.getPath() + " (hung up)");
        try {
            return TreeRestore.pullFromAmber(ctx.injector(), slave);
        } finally {
            Pidfd.close(slave);
        }
    }
}
