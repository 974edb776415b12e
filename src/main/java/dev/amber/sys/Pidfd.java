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

    /**
     * A pidfd of a process that has exited and been reaped, as a pidfd outliving its process is:
     * a short-lived child (true(1)) is opened while it exists (a zombie still can be) and reaped.
     * Each call gives a pidfd of another process, so another inode.
     */
    public static int ofDeadProcess(int flags) throws ErrnoException {
        int child = new Spawn("/bin/true", java.util.List.of("true")).env(java.util.Map.of())
                .input(0, "/dev/null").output(1, "/dev/null", false).output(2, "/dev/null", false).start();
        int pidfd;
        try {
            pidfd = (int) Syscall.check("pidfd_open", "pid " + child, Arch.SYS_PIDFD_OPEN, child, flags, 0);
        } finally {
            Syscall.check("wait4", "pid " + child, Arch.SYS_WAIT4, child, 0, 0, 0);
        }
        return pidfd;
    }

    /** PIDFD_GET_INFO = _IOWR(PIDFS_IOCTL_MAGIC 0xFF, 11, struct pidfd_info), the 64-byte first version. */
    private static final long PIDFD_GET_INFO = 0xC040FF0BL;
    private static final int ESRCH = 3;

    /**
     * The process or thread that descriptor {@code fd} of process {@code pid}, a pidfd, refers to,
     * as Amber sees it (PIDFD_GET_INFO, Linux 6.13 onwards; fdinfo's Pid line reads -1 for a thread
     * other than the leader, so it cannot tell): the pid (a thread id for a PIDFD_THREAD pidfd), or
     * -1 once it has exited.
     *
     * <pre>
     * struct pidfd_info { u64 mask; u64 cgroupid; u32 pid; u32 tgid; u32 ppid; u32 ruid, rgid, ...; }
     * </pre>
     */
    public static int target(int pid, int fd) throws ErrnoException {
        int copy = grab(pid, fd);
        try (LocalBuffer info = new LocalBuffer(64)) {
            long r = Syscall.raw(Arch.SYS_IOCTL, copy, PIDFD_GET_INFO, info.at(0));
            if (r == -ESRCH) {
                return -1;
            }
            ErrnoException.check(r, "ioctl(PIDFD_GET_INFO)", "pid " + pid + " fd " + fd);
            byte[] b = info.get(16, 4);
            return (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
        } finally {
            close(copy);
        }
    }

    public static void close(int fd) {
        Syscall.raw(Arch.SYS_CLOSE, fd, 0, 0);
    }
}
