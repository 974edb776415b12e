package dev.amber.kind.pipe;

import dev.amber.image.proto.Pipe;
import dev.amber.kind.TreeRestore;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Syscall;
import java.io.IOException;

/** Pipe work in Amber's own process: reading buffered bytes without taking them, making pipes again. */
final class PipeData {
    private static final int O_RDONLY = 0, O_RDWR = 2, O_NONBLOCK = 04000, O_CLOEXEC = 02000000,
            F_SETPIPE_SZ = 1031, FIONREAD = 0x541B, SPLICE_F_NONBLOCK = 2, AT_FDCWD = -100;

    private PipeData() {}

    /**
     * The bytes buffered in the pipe behind Amber's descriptor {@code fd}, left in place. A write
     * end cannot be read: a read end of the same pipe is opened through /proc/self/fd for the tee.
     */
    static byte[] peek(int fd, boolean writeEnd) throws IOException {
        int queued = queued(fd);
        if (queued == 0) {
            return new byte[0];
        }
        int reader = writeEnd ? openPath("/proc/self/fd/" + fd, O_RDONLY | O_NONBLOCK | O_CLOEXEC) : fd;
        try (LocalBuffer fds = new LocalBuffer(8)) {
            ErrnoException.check(Syscall.raw(Arch.SYS_PIPE2, fds.at(0), O_CLOEXEC | O_NONBLOCK, 0), "pipe2",
                    "a pipe of amber's own");
            int r = fds.getInt(0), w = fds.getInt(4);
            try (LocalBuffer buf = new LocalBuffer(queued)) {
                Syscall.raw(Arch.SYS_FCNTL, w, F_SETPIPE_SZ, Math.max(queued, 4096));
                long teed = ErrnoException.check(Syscall.raw(Arch.SYS_TEE, reader, w, queued, SPLICE_F_NONBLOCK),
                        "tee", "the pipe's buffered data");
                long got = 0;
                while (got < teed) {
                    long n = ErrnoException.check(Syscall.raw(Arch.SYS_READ, r, buf.at(got), teed - got),
                            "read", "the copy of the pipe's data");
                    if (n == 0) {
                        break;
                    }
                    got += n;
                }
                if (got != queued) {
                    throw new IOException("pipe holds " + queued + " bytes but only " + got + " could be copied");
                }
                return buf.get(0, (int) got);
            } finally {
                Pidfd.close(r);
                Pidfd.close(w);
            }
        } finally {
            if (reader != fd) {
                Pidfd.close(reader);
            }
        }
    }

    static int queued(int fd) throws ErrnoException {
        try (LocalBuffer n = new LocalBuffer(4)) {
            ErrnoException.check(Syscall.raw(Arch.SYS_IOCTL, fd, FIONREAD, n.at(0)), "ioctl(FIONREAD)", "pipe");
            return n.getInt(0);
        }
    }

    static int openPath(String path, int flags) throws ErrnoException {
        try (LocalBuffer p = new LocalBuffer(path.length() * 4L + 1)) {
            return (int) ErrnoException.check(Syscall.raw(Arch.SYS_OPENAT, AT_FDCWD, p.putString(0, path), flags, 0),
                    "open", path);
        }
    }

    /** A new pipe in Amber with the saved size and bytes; both ends kept until the restart ends. */
    static int[] makePipe(TreeRestore tree, Pipe saved) throws IOException {
        int r, w;
        try (LocalBuffer fds = new LocalBuffer(8)) {
            ErrnoException.check(Syscall.raw(Arch.SYS_PIPE2, fds.at(0), O_CLOEXEC, 0), "pipe2",
                    "pipe:[" + saved.getId() + "]");
            r = tree.keep(fds.getInt(0));
            w = tree.keep(fds.getInt(4));
        }
        fill(w, saved);
        return new int[] {r, w};
    }

    /**
     * Opens a FIFO read-write in Amber (which never blocks and keeps it open while the puppets
     * open their ends), and puts the saved bytes back unless the FIFO still holds data: then
     * another process kept it open all along and the bytes are still there.
     */
    static int openFifo(TreeRestore tree, Pipe saved, String path) throws IOException {
        int fd;
        try {
            fd = tree.keep(openPath(path, O_RDWR | O_NONBLOCK | O_CLOEXEC));
        } catch (ErrnoException e) {
            throw new IOException("FIFO " + saved.getFifoPath() + " cannot be opened (" + Errno.describe(e.errno())
                    + "): make it again with mkfifo, then restart");
        }
        if (queued(fd) == 0) {
            fill(fd, saved);
        }
        return fd;
    }

    private static void fill(int w, Pipe saved) throws IOException {
        if (saved.getSize() > 0) {
            Syscall.raw(Arch.SYS_FCNTL, w, F_SETPIPE_SZ, saved.getSize());   // above pipe-max-size: the default stays
        }
        byte[] data = saved.getData().toByteArray();
        if (data.length == 0) {
            return;
        }
        try (LocalBuffer buf = new LocalBuffer(data.length)) {
            buf.put(0, data);
            long done = 0;
            while (done < data.length) {
                long n = Syscall.raw(Arch.SYS_WRITE, w, buf.at(done), data.length - done);
                if (n < 0) {
                    throw new IOException("cannot put " + data.length + " bytes back into pipe:[" + saved.getId()
                            + "] (" + Errno.describe((int) -n) + ")");
                }
                done += n;
            }
        }
    }
}
