package dev.amber.checkpoint;

import dev.amber.kind.seccomp.SeccompKind;
import dev.amber.proc.ProcStatus;
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
            seized.put(pid, Tracee.seize(pid, 0));
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
            List<Tracee> threads = new ArrayList<>(seized.values());
            suspendSeccomp(pid, threads);
            return threads;
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
     * Every thread under seccomp (strict mode, or filters) gets its filtering suspended while
     * Amber holds it (PTRACE_O_SUSPEND_SECCOMP): otherwise the calls Amber injects would be
     * refused by a filter, or, in strict mode, kill the thread. The mode is read per thread (each
     * has its own) once all are stopped: until then another thread could still give it filters
     * (SECCOMP_FILTER_FLAG_TSYNC). The option needs CAP_SYS_ADMIN, and is gone at the detach.
     */
    private static void suspendSeccomp(int pid, List<Tracee> threads) throws IOException {
        for (Tracee t : threads) {
            int mode = ProcStatus.read(pid, t.tid()).seccomp();
            if (mode == 0) {
                continue;
            }
            try {
                t.suspendSeccomp();
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EPERM) {
                    throw e;
                }
                throw new IOException("pid " + pid + (t.tid() == pid ? "" : " thread " + t.tid()) + ": seccomp: "
                        + (mode == 1 ? "strict mode" : "filter mode") + ": Amber must suspend it to work inside the"
                        + " process (PTRACE_O_SUSPEND_SECCOMP), " + SeccompKind.suspendRefused("checkpoint"), e);
            }
        }
    }

    private static Tracee seizeIfAlive(int tid) throws IOException {
        try {
            return Tracee.seize(tid, 0);
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
