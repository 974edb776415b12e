package dev.amber.sys;

import java.io.IOException;

/**
 * A system call failed. The message names the call, the object it was made on and the errno:
 * {@code PTRACE_SEIZE pid 4242: EPERM (Operation not permitted)}.
 */
public final class ErrnoException extends IOException {
    private final int errno;

    public ErrnoException(String call, String object, int errno) {
        super(call + (object.isEmpty() ? "" : " " + object) + ": " + Errno.describe(errno));
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }

    /** Returns {@code result} if it is not a kernel-style {@code -errno}, else throws. */
    public static long check(long result, String call, String object) throws ErrnoException {
        if (result < 0 && result >= -4095) {
            throw new ErrnoException(call, object, (int) -result);
        }
        return result;
    }
}
