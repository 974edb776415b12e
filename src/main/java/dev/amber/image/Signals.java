package dev.amber.image;

/** Signal names for `amber show` (Linux numbering, the same on x86-64 and aarch64). */
final class Signals {
    private static final String[] NAMES = {null, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP",
            "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE",
            "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN",
            "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",
            "SIGPWR", "SIGSYS"};
    private static final int SIGRTMIN = 32; // the kernel's; glibc reserves 32 and 33 for itself

    private Signals() {}

    static String name(int signo) {
        if (signo > 0 && signo < NAMES.length) {
            return NAMES[signo];
        }
        return signo >= SIGRTMIN && signo <= 64 ? "SIGRTMIN+" + (signo - SIGRTMIN) : "signal " + signo;
    }
}
