package dev.amber.kind.file;

/**
 * Names what a descriptor's {@code /proc/PID/fd} link points at, for the descriptors this
 * milestone refuses: {@code socket:[123]}, {@code pipe:[456]}, {@code anon_inode:[eventfd]},
 * terminals, deleted files.
 */
public final class FileClass {
    private FileClass() {}

    /** The kind of a descriptor Amber cannot save yet, or null when it is a path it can reopen. */
    static String refusal(int pid, String target) {
        if (target.startsWith("socket:[")) {
            return "socket (" + dev.amber.kind.inet.SocketTable.describe(pid, Long.parseLong(target.substring(8, target.length() - 1))) + ")";
        }
        return refusal(target);
    }

    /** As above, without looking the socket up. */
    static String refusal(String target) {
        if (target.startsWith("socket:")) {
            return "socket " + target;
        }
        if (target.startsWith("pipe:")) {
            return "pipe " + target;
        }
        if (target.startsWith("anon_inode:")) {
            String what = target.substring("anon_inode:".length()).replace("[", "").replace("]", "");
            return switch (what) {
                case "eventpoll" -> "epoll";
                case "inotify" -> "inotify";
                default -> what;
            };
        }
        if (target.startsWith("/memfd:")) {
            return "memfd " + target;
        }
        if (target.endsWith(" (deleted)")) {
            return "deleted file " + target.substring(0, target.length() - " (deleted)".length());
        }
        if (target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/ptmx")
                || target.startsWith("/dev/console")) {
            return "terminal " + target;
        }
        if (!target.startsWith("/")) {
            return "descriptor " + target;
        }
        return null;
    }

    /** Why an io_uring instance (its descriptor or its mapped rings) is refused. */
    public static final String IO_URING = "not supported: the submission and completion queues and the requests in"
            + " flight are kernel state Amber cannot save; use kernel AIO (io_submit) or plain system calls";

    static String reason(String target) {
        if (target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/ptmx")) {
            return "only pseudo-terminals (/dev/ptmx, /dev/pts/N) are supported: start the program with its input"
                    + " and output redirected (e.g. </dev/null >log 2>&1)";
        }
        if (target.startsWith("pipe:")) {
            return "pipes are not supported yet: redirect the program's output to a file";
        }
        if (target.equals("anon_inode:[io_uring]")) {
            return IO_URING;
        }
        return "not supported yet";
    }
}
