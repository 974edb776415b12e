package dev.amber.kind.thread;

import dev.amber.image.proto.Process;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TaskHandle;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.sys.ErrnoException;
import dev.amber.trace.Injector;
import dev.amber.trace.Tracee;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The threads themselves. At checkpoint every thread is seized before any kind runs, so there is
 * nothing to dump here. At restart the puppet's main thread makes each saved thread with an
 * injected clone3(CLONE_THREAD | CLONE_VM | ..., set_tid = {tid}): the same TID, no race. The new
 * thread is traced from birth (the puppet carries PTRACE_O_TRACECLONE), stops before it runs a
 * single instruction of its own, and inherits the main thread's all-blocked signal mask; its
 * registers are set at the very end with everyone else's. Threads are made before credentials are
 * restored (clone3 with set_tid needs CAP_CHECKPOINT_RESTORE), which then run in every thread:
 * credentials are per thread.
 */
public final class ThreadsKind implements ProcessKind {
    private static final long CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800,
            CLONE_THREAD = 0x10000, CLONE_SYSVSEM = 0x40000;
    private static final long THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD
            | CLONE_SYSVSEM;
    private static final int ARGS_AT = 0, TID_AT = 128;

    @Override
    public String name() {
        return "threads";
    }

    @Override
    public void dump(DumpContext ctx) {
        // The freezer seized every thread; each kind saves its part of each.
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        Process p = ctx.process();
        Injector main = ctx.injector();
        for (int i = 1; i < p.getThreadsCount(); i++) {
            int tid = p.getThreads(i).getTid();
            int[] born = {0};
            main.onNewTask(id -> born[0] = id);
            long setTid = main.put(TID_AT, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(tid).array());
            ByteBuffer args = ByteBuffer.allocate(88).order(ByteOrder.LITTLE_ENDIAN);
            // flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup
            args.putLong(THREAD_FLAGS).putLong(0).putLong(0).putLong(0).putLong(0).putLong(0).putLong(0).putLong(0)
                    .putLong(setTid).putLong(1).putLong(0);
            long r = main.call(Arch.SYS_CLONE3, main.put(ARGS_AT, args.array()), 88);
            main.onNewTask(id -> { });
            if (r == -Errno.EEXIST) {
                throw new IOException("thread id " + tid + " of pid " + p.getPid()
                        + " is in use: end the process that has it, then restart");
            }
            ErrnoException.check(r, "clone3 thread " + tid, "in pid " + p.getPid());
            // r is the tid in the puppet's pid namespace (the saved one); the event has the tid
            // Amber sees, which differs in a new pid namespace (restart --new-pidns).
            if (r != tid || born[0] <= 0) {
                throw new IllegalStateException("clone3 made thread " + r + " (event " + born[0] + "), not " + tid);
            }
            Tracee thread = Tracee.adopt(born[0], ctx.puppet());
            Injector injector = new Injector(thread, main.gadget());
            injector.useScratch(main.scratch());
            ctx.addTask(new TaskHandle(thread, injector));
        }
    }
}
