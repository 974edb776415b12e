package dev.amber.kind.device;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Device;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A device node that was unlinked while open ({@code /path (deleted)}, no link left). The device
 * is what matters, not the node: at restart the node is made again with mknod under its old
 * name (or, if that is taken by now, under a temporary name in the same directory), with its
 * owner and permissions, opened with the saved flags and unlinked at once, so the descriptor
 * opens the same device (st_rdev), with the same st_mode and no link, and its link reads
 * {@code /path (deleted)} as before.
 *
 * <p>Other open files of the same node in the process (the same st_dev and st_ino, not dup'ed)
 * reopen the first one's node through {@code /proc/self/fd}, so they share one inode again.
 */
final class DeletedNode {
    private static final int AT_FDCWD = -100, EEXIST = 17;

    private DeletedNode() {}

    /** Opens descriptor {@code d} with {@code flags} in the puppet; returns the new descriptor. */
    static long open(RestoreContext ctx, Descriptor d, int flags) throws IOException {
        Injector inj = ctx.injector();
        Device dev = d.getDevice();
        Descriptor first = first(ctx, dev);
        String what = "fd " + d.getFd() + " deleted device node " + dev.getPath();
        if (first != null && first.getFd() != d.getFd()) {
            return inj.check("reopen " + what + " through fd " + first.getFd(), Arch.SYS_OPENAT, AT_FDCWD,
                    inj.putString(0, "/proc/self/fd/" + first.getFd()), flags, 0);
        }
        String path = make(ctx, d, what);
        try {
            inj.check("chown " + path + " for " + what, Arch.SYS_FCHOWNAT, AT_FDCWD, inj.putString(0, path),
                    dev.getUid(), dev.getGid(), 0);
            // mknod applies the puppet's umask: the permissions as saved, once the node is there.
            inj.check("chmod " + path + " for " + what, Arch.SYS_FCHMODAT, AT_FDCWD, inj.putString(0, path),
                    dev.getMode() & 07777);
            return inj.check("open " + path + " for " + what, Arch.SYS_OPENAT, AT_FDCWD, inj.putString(0, path),
                    flags, 0);
        } finally {
            inj.check("unlink " + path + " for " + what, Arch.SYS_UNLINK, inj.putString(0, path));
        }
    }

    /** Makes the node; returns the name it got. */
    private static String make(RestoreContext ctx, Descriptor d, String what) throws IOException {
        Injector inj = ctx.injector();
        Device dev = d.getDevice();
        long number = DeviceClass.encode(dev.getMajor(), dev.getMinor());
        String path = dev.getPath();
        long r = inj.call(Arch.SYS_MKNODAT, AT_FDCWD, inj.putString(0, path), dev.getMode(), number);
        if (r == -EEXIST) {   // the name is taken by a new file: a temporary name beside it
            Path dir = Path.of(path).getParent();
            path = (dir == null ? Path.of("/") : dir).resolve(".amber-node-" + ctx.pid() + "-" + d.getFd()).toString();
            r = inj.call(Arch.SYS_MKNODAT, AT_FDCWD, inj.putString(0, path), dev.getMode(), number);
        }
        if (r < 0) {
            throw new ErrnoException("mknod " + path + " (" + dev.getMajor() + ":" + dev.getMinor() + ") for " + what,
                    "in pid " + ctx.pid(), (int) -r);
        }
        return path;
    }

    /** The first saved descriptor of the same deleted node in the process, or null. */
    private static Descriptor first(RestoreContext ctx, Device dev) {
        for (Descriptor o : ctx.process().getDescriptorsList()) {
            Device od = o.getDevice();
            if (!o.getShares() && o.hasDevice() && od.getDeleted() && od.getNodeDev() == dev.getNodeDev()
                    && od.getNodeInode() == dev.getNodeInode()) {
                return o;
            }
        }
        return null;
    }
}
