package dev.amber.sys;

/**
 * Descriptors of other processes, copied into Amber's own table with pidfd_getfd (the copy shares
 * the open file description: offset, status flags, socket queues). Needs ptrace access to the
 * process, which Amber has (root, or CAP_SYS_PTRACE). Every copy has close-on-exec set.
 */
public final class Pidfd {
    private Pidfd() {}

    /** A copy in Amber of descriptor {@code fd} of process {@code pid}; the caller closes it. */
    public static int grab(int pid, int fd) throws ErrnoException {
        int pidfd = (int) Syscall.check("pidfd_open", "pid " + pid, Arch.SYS_PIDFD_OPEN, pid, 0, 0);
        try {
            return (int) Syscall.check("pidfd_getfd", "pid " + pid + " fd " + fd, Arch.SYS_PIDFD_GETFD, pidfd, fd, 0);
        } finally {
            close(pidfd);
        }
    }

    public static void close(int fd) {
        Syscall.raw(Arch.SYS_CLOSE, fd, 0, 0);
    }
}
