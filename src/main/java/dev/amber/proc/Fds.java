package dev.amber.proc;

import java.io.IOException;

/**
 * The open descriptors of a process: {@code /proc/PID/fd/} holds one symlink per descriptor,
 * named by its number, pointing at a path or a pseudo-name:
 *
 * <pre>
 * 0 -> /dev/pts/3        5 -> socket:[183042]       7 -> anon_inode:[eventfd]
 * 3 -> pipe:[183040]     6 -> /tmp/log (deleted)    8 -> /memfd:jit (deleted)
 * </pre>
 */
public final class Fds {
    private Fds() {}

    /** Open descriptor numbers, ascending. */
    public static int[] list(int pid) throws IOException {
        return ProcFiles.listNumbers(ProcFiles.path(pid, "fd"));
    }

    /** The link target of one descriptor, as the kernel shows it. */
    public static String readLink(int pid, int fd) throws IOException {
        return ProcFiles.readLink(ProcFiles.path(pid, "fd/" + fd));
    }
}
