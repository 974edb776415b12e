package dev.amber.kind.lock;

import dev.amber.image.proto.FileLock;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Syscall;
import java.io.IOException;

/**
 * A lease being broken: another process opened the file in a mode the lease conflicts with, the
 * kernel told the holder (its lease signal) and gives it the break time to give the lease up; until
 * then F_GETLEASE answers the type it is being broken to. A restart takes the lease as it was and
 * breaks it the same way, with a non-blocking open of the conflicting mode by Amber (writing breaks
 * a lease to UNLCK, reading breaks a write lease to READ). The holder was told once already, so
 * the file has no owner while it breaks, and no signal is sent again. The break time starts again.
 */
final class Leases {
    private static final int O_RDONLY = 0, O_WRONLY = 1, O_NONBLOCK = 04000, O_CLOEXEC = 02000000, AT_FDCWD = -100,
            EWOULDBLOCK = 11, F_SETOWN = 8;

    private Leases() {}

    static void breakAgain(RestoreContext ctx, int fd, FileLock lease) throws IOException {
        // The break signals the file's owner (F_SETLEASE makes the puppet the owner when there is
        // none): with no owner, no signal; the saved owner is set once the locks are in place.
        ctx.injector().check("fcntl(F_SETOWN, 0) fd " + fd, Arch.SYS_FCNTL, fd, F_SETOWN, 0);
        String link = "/proc/" + ctx.pid() + "/fd/" + fd;
        String what = "pid " + ctx.pid() + " fd " + fd + ": break its lease again";
        int mode = lease.getLeaseBreakingTo().equals("READ") ? O_RDONLY : O_WRONLY;
        long r;
        try (LocalBuffer b = new LocalBuffer(link.length() + 1)) {
            r = Syscall.raw(Arch.SYS_OPENAT, AT_FDCWD, b.putString(0, link), mode | O_NONBLOCK | O_CLOEXEC, 0);
        }
        if (r >= 0) {
            dev.amber.sys.Pidfd.close((int) r);
            throw new IOException(what + ": opening the file did not break it");
        }
        if (r != -EWOULDBLOCK) {
            throw new IOException(what + ": " + Errno.describe((int) -r));
        }
    }
}
