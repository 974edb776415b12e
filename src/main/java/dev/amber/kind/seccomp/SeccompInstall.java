package dev.amber.kind.seccomp;

import dev.amber.image.proto.SeccompFilter;
import dev.amber.image.proto.Thread;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TaskHandle;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.sys.ErrnoException;
import dev.amber.trace.Tracee;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Installs each thread's saved filters in its puppet thread, oldest first, with
 * seccomp(SECCOMP_SET_MODE_FILTER, flags, &fprog) injected into that thread.
 *
 * <p>Threads get their filters after they exist, so they cannot inherit them from the leader as
 * the originals did. The filters all threads start with (the usual case: installed before the
 * threads were made, or with TSYNC) go in once, in the leader, with SECCOMP_FILTER_FLAG_TSYNC,
 * which gives every thread the leader's very filters: they are shared again, and a later TSYNC
 * of the restored process (which the kernel allows only when every thread's filter is an ancestor
 * of the caller's) works as before. What each thread has beyond those is its own copy.
 */
final class SeccompInstall {
    private static final int SECCOMP_SET_MODE_FILTER = 1, SECCOMP_FILTER_FLAG_TSYNC = 1;
    private static final int FPROG_AT = 0, PROGRAM_AT = 16;

    private final RestoreContext ctx;
    private final Map<Integer, SeccompFilter> byId = new HashMap<>();

    /** {@code filters}: every filter of the tree (a process's chain may start in an earlier process). */
    SeccompInstall(RestoreContext ctx, List<SeccompFilter> filters) {
        this.ctx = ctx;
        filters.forEach(f -> byId.put(f.getId(), f));
        ctx.process().getSeccompFiltersList().forEach(f -> byId.put(f.getId(), f));
    }

    /** PTRACE_O_SUSPEND_SECCOMP on a puppet thread, so that the filters spare what Amber still injects. */
    static void suspend(int pid, Tracee t) throws IOException {
        try {
            t.suspendSeccomp();
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EPERM) {
                throw e;
            }
            throw new IOException("pid " + pid + where(pid, t.tid()) + ": seccomp: Amber must suspend the filters"
                    + " it restores while it works in the process (PTRACE_O_SUSPEND_SECCOMP), "
                    + SeccompKind.suspendRefused("restart"), e);
        }
    }

    void run() throws IOException {
        List<TaskHandle> tasks = ctx.tasks();
        List<List<SeccompFilter>> chains = new ArrayList<>();
        for (int i = 0; i < tasks.size(); i++) {
            chains.add(chain(ctx.process().getThreads(i)));
        }
        int shared = tasks.size() > 1 ? commonPrefix(chains) : 0;
        for (int j = 0; j < shared; j++) {
            install(tasks.getFirst(), chains.getFirst(), j, SECCOMP_FILTER_FLAG_TSYNC);
        }
        for (int i = 0; i < tasks.size(); i++) {
            for (int j = shared; j < chains.get(i).size(); j++) {
                install(tasks.get(i), chains.get(i), j, 0);
            }
        }
    }

    /** The thread's filters, oldest first (empty unless it is in filter mode). */
    private List<SeccompFilter> chain(Thread saved) throws IOException {
        List<SeccompFilter> chain = new ArrayList<>();
        if (saved.getSeccompMode() != SeccompKind.MODE_FILTER) {
            return chain;
        }
        for (int id = saved.getSeccompFilter(); id != 0; ) {
            SeccompFilter f = byId.get(id);
            if (f == null || chain.size() > byId.size()) {
                throw new IOException("pid " + ctx.pid() + where(ctx.pid(), saved.getTid()) + ": seccomp: filter "
                        + id + " is not in the image (or its chain loops): the image is damaged");
            }
            chain.addFirst(f);
            id = f.getPrev();
        }
        return chain;
    }

    /** How many filters, from the oldest, every thread has alike (ids name the same filter). */
    private static int commonPrefix(List<List<SeccompFilter>> chains) {
        int n = chains.stream().mapToInt(List::size).min().orElse(0);
        for (int j = 0; j < n; j++) {
            int at = j, id = chains.getFirst().get(j).getId();
            if (chains.stream().anyMatch(c -> c.get(at).getId() != id)) {
                return j;
            }
        }
        return n;
    }

    /**
     * Filter {@code j} of {@code chain} into the task.
     *
     * <pre>
     * struct sock_fprog { unsigned short len; (6 bytes padding) struct sock_filter *filter; }
     * </pre>
     */
    private void install(TaskHandle task, List<SeccompFilter> chain, int j, long extraFlags) throws IOException {
        SeccompFilter f = chain.get(j);
        byte[] program = f.getProgram().toByteArray();
        long programAt = task.injector().put(PROGRAM_AT, program);
        ByteBuffer fprog = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        fprog.putShort((short) (program.length / 8)).putShort((short) 0).putInt(0).putLong(programAt);
        long fprogAt = task.injector().put(FPROG_AT, fprog.array());
        long flags = f.getFlags() | extraFlags;
        long r = task.injector().call(Arch.SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, flags, fprogAt);
        String what = "pid " + ctx.pid() + where(ctx.pid(), task.tid()) + ": seccomp: filter " + (j + 1) + " of "
                + chain.size() + " (oldest first): seccomp(SECCOMP_SET_MODE_FILTER, 0x" + Long.toHexString(flags) + ")";
        if (r > 0) {   // TSYNC: the thread that could not take the filter
            throw new IOException(what + ": thread " + r + " could not be synchronized");
        }
        if (r == -Errno.EACCES) {
            throw new IOException(what + ": EACCES: installing a filter needs CAP_SYS_ADMIN or no_new_privs:"
                    + " run amber restart as root");
        }
        ErrnoException.check(r, what, "");
    }

    private static String where(int pid, int tid) {
        return tid == pid ? "" : " thread " + tid;
    }
}
