package dev.amber.sys;

import java.util.Map;

/** errno values Amber meets, with their names and the C library's wording. */
public final class Errno {
    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9, ECHILD = 10,
            EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19,
            ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENOSPC = 28, ESPIPE = 29, EROFS = 30, ENOSYS = 38,
            ENOTSUP = 95;

    private static final Map<Integer, String[]> NAMES = Map.ofEntries(
            e(EPERM, "EPERM", "Operation not permitted"),
            e(ENOENT, "ENOENT", "No such file or directory"),
            e(ESRCH, "ESRCH", "No such process"),
            e(EINTR, "EINTR", "Interrupted system call"),
            e(EIO, "EIO", "Input/output error"),
            e(EBADF, "EBADF", "Bad file descriptor"),
            e(ECHILD, "ECHILD", "No child processes"),
            e(EAGAIN, "EAGAIN", "Resource temporarily unavailable"),
            e(ENOMEM, "ENOMEM", "Cannot allocate memory"),
            e(EACCES, "EACCES", "Permission denied"),
            e(EFAULT, "EFAULT", "Bad address"),
            e(EBUSY, "EBUSY", "Device or resource busy"),
            e(EEXIST, "EEXIST", "File exists"),
            e(ENODEV, "ENODEV", "No such device"),
            e(ENOTDIR, "ENOTDIR", "Not a directory"),
            e(EISDIR, "EISDIR", "Is a directory"),
            e(EINVAL, "EINVAL", "Invalid argument"),
            e(ENOSPC, "ENOSPC", "No space left on device"),
            e(ESPIPE, "ESPIPE", "Illegal seek"),
            e(EROFS, "EROFS", "Read-only file system"),
            e(ENOSYS, "ENOSYS", "Function not implemented"),
            e(ENOTSUP, "EOPNOTSUPP", "Operation not supported"));

    private Errno() {}

    private static Map.Entry<Integer, String[]> e(int n, String name, String text) {
        return Map.entry(n, new String[] {name, text});
    }

    /** {@code EPERM (Operation not permitted)}, or {@code errno 123} for one not in the table. */
    public static String describe(int errno) {
        String[] d = NAMES.get(errno);
        return d == null ? "errno " + errno : d[0] + " (" + d[1] + ")";
    }
}
