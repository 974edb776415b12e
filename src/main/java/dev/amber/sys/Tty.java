package dev.amber.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Terminal calls on Amber's own descriptors: open, read, write, fcntl and the tty ioctls that
 * take a pointer or an int. The request numbers are the x86-64 ones (asm-generic/ioctls.h) and
 * live with the caller ({@code kind.tty}); this class only moves bytes across the FFM boundary.
 */
public final class Tty {
    private static final int F_GETFL = 3, F_SETFL = 4, F_SETFD = 2, FD_CLOEXEC = 1;

    private Tty() {}

    /** open(2) of {@code path} with {@code flags}; returns the descriptor. */
    public static int open(String path, int flags) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            return (int) Syscall.check("open", path, Arch.SYS_OPEN, arena.allocateFrom(path).address(), flags, 0);
        }
    }

    /** An ioctl whose argument is an int passed by value (TIOCPKT's is a pointer: use {@link #setInt}). */
    public static long ioctl(int fd, long request, long arg, String what) throws ErrnoException {
        return Syscall.check("ioctl(" + what + ")", "fd " + fd, Arch.SYS_IOCTL, fd, request, arg);
    }

    /** ioctl(-errno kept): for probes whose failure is an answer. */
    public static long ioctlRaw(int fd, long request, long arg) {
        return Syscall.raw(Arch.SYS_IOCTL, fd, request, arg);
    }

    /** An ioctl that fills a structure of {@code size} bytes; returns its bytes. */
    public static byte[] get(int fd, long request, int size, String what) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(size, 8);
            Syscall.check("ioctl(" + what + ")", "fd " + fd, Arch.SYS_IOCTL, fd, request, buf.address());
            return buf.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** An ioctl that reads a structure from {@code bytes}. */
    public static void set(int fd, long request, byte[] bytes, String what) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(8, bytes.length), 8);
            MemorySegment.copy(bytes, 0, buf, ValueLayout.JAVA_BYTE, 0, bytes.length);
            Syscall.check("ioctl(" + what + ")", "fd " + fd, Arch.SYS_IOCTL, fd, request, buf.address());
        }
    }

    /** An ioctl that fills an int (TIOCGPTN, FIONREAD, TIOCGPKT…). */
    public static int getInt(int fd, long request, String what) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(ValueLayout.JAVA_INT);
            Syscall.check("ioctl(" + what + ")", "fd " + fd, Arch.SYS_IOCTL, fd, request, buf.address());
            return buf.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** An ioctl that reads an int through a pointer (TIOCSPTLCK, TIOCPKT). */
    public static void setInt(int fd, long request, int value, String what) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(ValueLayout.JAVA_INT);
            buf.set(ValueLayout.JAVA_INT, 0, value);
            Syscall.check("ioctl(" + what + ")", "fd " + fd, Arch.SYS_IOCTL, fd, request, buf.address());
        }
    }

    /** Reads up to {@code max} bytes; an empty array at end of file or when nothing is there (EAGAIN, EIO). */
    public static byte[] read(int fd, int max) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(1, max));
            long n = Syscall.raw(Arch.SYS_READ, fd, buf.address(), max);
            if (n == -Errno.EAGAIN || n == -Errno.EIO) {
                return new byte[0];
            }
            ErrnoException.check(n, "read", "fd " + fd);
            return buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** Writes all of {@code bytes} (a short write is retried); throws on error. */
    public static void write(int fd, byte[] bytes) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(1, bytes.length));
            MemorySegment.copy(bytes, 0, buf, ValueLayout.JAVA_BYTE, 0, bytes.length);
            long done = 0;
            while (done < bytes.length) {
                long n = ErrnoException.check(Syscall.raw(Arch.SYS_WRITE, fd, buf.address() + done, bytes.length - done),
                        "write", "fd " + fd);
                done += n;
            }
        }
    }

    public static int getFlags(int fd) throws ErrnoException {
        return (int) Syscall.check("fcntl(F_GETFL)", "fd " + fd, Arch.SYS_FCNTL, fd, F_GETFL, 0);
    }

    /** FD_CLOEXEC on Amber's own descriptor, so that the puppets Amber spawns do not inherit it. */
    public static void setCloexec(int fd) throws ErrnoException {
        Syscall.check("fcntl(F_SETFD, FD_CLOEXEC)", "fd " + fd, Arch.SYS_FCNTL, fd, F_SETFD, FD_CLOEXEC);
    }

    public static void setFlags(int fd, int flags) throws ErrnoException {
        Syscall.check("fcntl(F_SETFL)", "fd " + fd, Arch.SYS_FCNTL, fd, F_SETFL, flags);
    }
}
