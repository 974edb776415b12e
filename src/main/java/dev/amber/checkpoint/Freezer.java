package dev.amber.checkpoint;

import dev.amber.proc.Tasks;
import dev.amber.sys.Errno;
import dev.amber.sys.ErrnoException;
import dev.amber.trace.Tracee;
import dev.amber.trace.TraceeGoneException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stops every thread of a process: seizes each thread /proc lists, and lists again until a pass
 * finds none new, since a thread not yet stopped may start another. Once all are stopped none can
 * appear. A thread that ends before it is seized is simply not there to save.
 */
final class Freezer {
    private Freezer() {}

    /** Every thread, seized and stopped, the leader first. On failure, none stays seized. */
    static List<Tracee> freeze(int pid) throws IOException {
        Map<Integer, Tracee> seized = new LinkedHashMap<>();
        try {
            seized.put(pid, underSeccomp(Tracee.seize(pid, 0)));
            for (boolean grew = true; grew; ) {
                grew = false;
                for (int tid : Tasks.list(pid)) {
                    if (!seized.containsKey(tid)) {
                        Tracee t = seizeIfAlive(tid);
                        if (t != null) {
                            seized.put(tid, t);
                            grew = true;
                        }
                    }
                }
            }
            return new ArrayList<>(seized.values());
        } catch (IOException | RuntimeException e) {
            seized.values().forEach(Tracee::detachQuietly);
            throw e;
        }
    }

    /**
     * Whether a task is gone or on its way out: PTRACE_SEIZE refuses a task that has begun to
     * exit with EPERM, as it refuses one that is gone.
     */
    static boolean exiting(int tid) {
        try {
            return dev.amber.proc.ProcStat.read(tid).exiting();
        } catch (IOException e) {
            return true;   // gone
        }
    }

    /**
     * A stopped task under seccomp (strict mode or filters: /proc's Seccomp line, read once it can
     * no longer change) gets its filtering suspended while Amber holds it, or the calls Amber
     * injects would be refused, or kill it.
     */
    private static Tracee underSeccomp(Tracee t) throws IOException {
        try {
            if (dev.amber.proc.ProcStatus.read(t.tid()).seccomp() != 0) {
                t.suspendSeccomp();
            }
            return t;
        } catch (ErrnoException e) {
            t.detachQuietly();
            if (e.errno() == Errno.EPERM) {
                throw new IOException("pid " + t.tid() + " is under seccomp: checkpointing it needs CAP_SYS_ADMIN"
                        + " (PTRACE_O_SUSPEND_SECCOMP): run amber as root", e);
            }
            throw e;
        } catch (IOException | RuntimeException e) {
            t.detachQuietly();
            throw e;
        }
    }

    private static Tracee seizeIfAlive(int tid) throws IOException {
        try {
            return underSeccomp(Tracee.seize(tid, 0));
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ESRCH || e.errno() == Errno.EPERM && exiting(tid)) {
                return null;   // ended between the listing and the seize
            }
            throw e;
        } catch (TraceeGoneException e) {
            return null;
        }
    }
}
