package dev.amber.sys;

import java.lang.foreign.MemorySegment;

/**
 * Raw system calls through the C library's {@code syscall(2)}. Results are kernel style: a
 * value {@code >= 0}, or {@code -errno} in -4095..-1, so that no call's -1 is ambiguous.
 */
public final class Syscall {
    private Syscall() {}

    public static long raw(long nr, long a, long b, long c, long d, long e, long f) {
        MemorySegment errno = Native.errnoBuffer();
        long r;
        try {
            r = (long) Native.syscall$mh.invokeExact(errno, nr, a, b, c, d, e, f);
        } catch (Throwable t) {
            throw new AssertionError("syscall " + nr, t);
        }
        return r == -1 ? -Native.errno(errno) : r;
    }

    public static long raw(long nr, long a, long b, long c) {
        return raw(nr, a, b, c, 0, 0, 0);
    }

    public static long raw(long nr, long a, long b, long c, long d) {
        return raw(nr, a, b, c, d, 0, 0);
    }

    /** Runs the call and throws {@link ErrnoException} naming {@code call} and {@code object} on failure. */
    public static long check(String call, String object, long nr, long a, long b, long c, long d, long e, long f)
            throws ErrnoException {
        return ErrnoException.check(raw(nr, a, b, c, d, e, f), call, object);
    }

    public static long check(String call, String object, long nr, long a, long b, long c, long d)
            throws ErrnoException {
        return check(call, object, nr, a, b, c, d, 0, 0);
    }

    public static long check(String call, String object, long nr, long a, long b, long c) throws ErrnoException {
        return check(call, object, nr, a, b, c, 0, 0, 0);
    }
}
