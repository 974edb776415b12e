package dev.amber.sys;

/**
 * Everything Amber knows about the CPU architecture: system call numbers, the general register
 * layout and the names used in images. x86-64 only for now; an image records {@link #NAME} and a
 * restart refuses an image of another architecture, naming both.
 */
public final class Arch {
    public static final String NAME = "x86_64";
    public static final int PAGE_SIZE = 4096;
    public static final long TASK_SIZE = 0x7ffffffff000L;

    // System call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
    public static final int SYS_READ = 0, SYS_WRITE = 1, SYS_PREAD64 = 17, SYS_OPEN = 2, SYS_CLOSE = 3, SYS_LSEEK = 8,
            SYS_MMAP = 9, SYS_MPROTECT = 10, SYS_MUNMAP = 11, SYS_BRK = 12, SYS_RT_SIGACTION = 13,
            SYS_RT_SIGPROCMASK = 14, SYS_IOCTL = 16, SYS_MREMAP = 25, SYS_MADVISE = 28, SYS_DUP2 = 33,
            SYS_PAUSE = 34, SYS_NANOSLEEP = 35, SYS_GETITIMER = 36, SYS_SETITIMER = 38, SYS_GETPID = 39,
            SYS_EXIT = 60, SYS_WAIT4 = 61, SYS_KILL = 62, SYS_FCNTL = 72, SYS_FCHDIR = 81, SYS_UMASK = 95,
            SYS_PTRACE = 101, SYS_GETUID = 102, SYS_SETGROUPS = 116, SYS_SETRESUID = 117, SYS_SETRESGID = 119,
            SYS_SETFSUID = 122, SYS_SETFSGID = 123,
            SYS_CAPGET = 125, SYS_CAPSET = 126, SYS_RT_SIGTIMEDWAIT = 128, SYS_RT_SIGQUEUEINFO = 129, SYS_SIGALTSTACK = 131,
            SYS_PERSONALITY = 135, SYS_PRCTL = 157, SYS_ARCH_PRCTL = 158, SYS_CHROOT = 161, SYS_GETTID = 186,
            SYS_TKILL = 200, SYS_SET_TID_ADDRESS = 218, SYS_RESTART_SYSCALL = 219, SYS_CLOCK_GETTIME = 228,
            SYS_CLOCK_NANOSLEEP = 230, SYS_EXIT_GROUP = 231, SYS_TGKILL = 234, SYS_WAITID = 247, SYS_OPENAT = 257,
            SYS_SET_ROBUST_LIST = 273, SYS_GET_ROBUST_LIST = 274, SYS_DUP3 = 292, SYS_RT_TGSIGQUEUEINFO = 297,
            SYS_PRLIMIT64 = 302, SYS_PROCESS_VM_READV = 310, SYS_PROCESS_VM_WRITEV = 311, SYS_KCMP = 312, SYS_MEMFD_CREATE = 319,
            SYS_RSEQ = 334, SYS_PIDFD_OPEN = 434, SYS_CLONE3 = 435, SYS_CLOSE_RANGE = 436, SYS_PIDFD_GETFD = 438;

    /** More system calls, used by the kinds. */
    public static final int SYS_POLL = 7, SYS_SOCKET = 41, SYS_CONNECT = 42, SYS_BIND = 49, SYS_LISTEN = 50,
            SYS_GETSOCKNAME = 51, SYS_GETPEERNAME = 52, SYS_SETSOCKOPT = 54, SYS_GETSOCKOPT = 55, SYS_FLOCK = 73,
            SYS_UNLINK = 87, SYS_FCHMOD = 91, SYS_FCHOWN = 93, SYS_SETPGID = 109, SYS_SETSID = 112,
            SYS_CHDIR = 80, SYS_FSTATFS = 138, SYS_GETPRIORITY = 140, SYS_SETPRIORITY = 141, SYS_SCHED_GETPARAM = 143,
            SYS_SCHED_SETSCHEDULER = 144, SYS_SCHED_GETSCHEDULER = 145, SYS_MLOCK = 149, SYS_SCHED_SETAFFINITY = 203,
            SYS_SCHED_GETAFFINITY = 204, SYS_TIMER_CREATE = 222, SYS_TIMER_SETTIME = 223, SYS_TIMER_GETTIME = 224,
            SYS_TIMER_GETOVERRUN = 225, SYS_TIMER_DELETE = 226, SYS_EPOLL_CTL = 233, SYS_TIMERFD_CREATE = 283,
            SYS_TIMERFD_SETTIME = 286, SYS_TIMERFD_GETTIME = 287, SYS_SIGNALFD4 = 289, SYS_EVENTFD2 = 290,
            SYS_EPOLL_CREATE1 = 291;

    /** seccomp(2). */
    public static final int SYS_SECCOMP = 317;

    /** Timers and signals. */
    public static final int SYS_RT_SIGPENDING = 127;

    /** Trees, pipes, unix sockets, terminals and IPC. */
    public static final int SYS_FSTAT = 5, SYS_SHMGET = 29, SYS_SHMAT = 30, SYS_SHMCTL = 31, SYS_SENDTO = 44,
            SYS_RECVFROM = 45, SYS_SENDMSG = 46, SYS_RECVMSG = 47, SYS_SHUTDOWN = 48, SYS_SOCKETPAIR = 53,
            SYS_SEMGET = 64, SYS_SEMOP = 65, SYS_SEMCTL = 66, SYS_SHMDT = 67, SYS_MSGGET = 68, SYS_MSGSND = 69,
            SYS_MSGRCV = 70, SYS_MSGCTL = 71, SYS_GETPGID = 121, SYS_GETSID = 124, SYS_MQ_OPEN = 240,
            SYS_MQ_UNLINK = 241, SYS_MQ_TIMEDSEND = 242, SYS_MQ_TIMEDRECEIVE = 243, SYS_MQ_NOTIFY = 244,
            SYS_MQ_GETSETATTR = 245,
            SYS_INOTIFY_ADD_WATCH = 254, SYS_INOTIFY_RM_WATCH = 255, SYS_MKNODAT = 259, SYS_FCHOWNAT = 260,
            SYS_FCHMODAT = 268, SYS_UNSHARE = 272,
            SYS_SPLICE = 275, SYS_TEE = 276, SYS_ACCEPT4 = 288, SYS_PIPE2 = 293, SYS_INOTIFY_INIT1 = 294,
            SYS_NAME_TO_HANDLE_AT = 303, SYS_OPEN_BY_HANDLE_AT = 304, SYS_SETNS = 308, SYS_STATX = 332, SYS_MOUNT = 165;

    /** The {@code syscall} instruction. */
    public static final byte[] SYSCALL_INSN = {0x0f, 0x05};

    /** {@code struct user_regs_struct}: 27 little-endian u64, in this order. */
    public static final int REGS_COUNT = 27;
    public static final int R15 = 0, R14 = 1, R13 = 2, R12 = 3, RBP = 4, RBX = 5, R11 = 6, R10 = 7, R9 = 8,
            R8 = 9, RAX = 10, RCX = 11, RDX = 12, RSI = 13, RDI = 14, ORIG_RAX = 15, RIP = 16, CS = 17,
            EFLAGS = 18, RSP = 19, SS = 20, FS_BASE = 21, GS_BASE = 22, DS = 23, ES = 24, FS = 25, GS = 26;

    /** Registers that carry system call arguments 1 to 6. */
    public static final int[] SYSCALL_ARGS = {RDI, RSI, RDX, R10, R8, R9};

    private Arch() {}
}
