package dev.amber.kind.thread;

import dev.amber.image.proto.Rseq;
import dev.amber.image.proto.Thread;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import dev.amber.sys.Resources;
import dev.amber.sys.Scheduling;
import dev.amber.trace.Injector;
import dev.amber.trace.Tracee;
import java.io.IOException;

/**
 * Per-thread registrations the kernel keeps pointers for: the rseq area, the robust futex list
 * and clear_child_tid (the word set_tid_address(2) names, zeroed and futex-woken when the thread
 * exits: how pthread_join learns of it). {@link #dump(Tracee, Injector, Thread.Builder)} and
 * {@link #restore(Injector, Thread)} work on any thread, the kind on the leader.
 *
 * <p>Restore after memory: the kernel writes the rseq area (cpu_id) on the next return to user
 * space and rejects an rseq area it cannot access; the other two are only read at exit.
 */
public final class ThreadKind implements ProcessKind {
    static final int PR_GET_TID_ADDRESS = 40;

    @Override
    public String name() {
        return "thread";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        for (int i = 0; i < ctx.tasks().size(); i++) {
            dump(ctx.tasks().get(i).tracee(), ctx.tasks().get(i).injector(), ctx.threads().get(i));
        }
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        for (int i = 0; i < ctx.tasks().size(); i++) {
            restore(ctx.tasks().get(i).injector(), ctx.process().getThreads(i));
        }
    }

    /**
     * rseq from PTRACE_GET_RSEQ_CONFIGURATION (glibc registers one for every thread since 2.35),
     * the robust list from get_robust_list(2) in the tool, clear_child_tid from
     * prctl(PR_GET_TID_ADDRESS) in the thread (CONFIG_CHECKPOINT_RESTORE), the only way to read it.
     */
    public static void dump(Tracee tracee, Injector injector, Thread.Builder thread) throws IOException {
        long[] rseq = tracee.rseq();
        if (rseq[0] != 0) {
            thread.setRseq(Rseq.newBuilder().setAddress(rseq[0]).setLength((int) rseq[1]).setSignature((int) rseq[2]));
        }
        Resources.RobustList robust = Resources.robustList(tracee.tid());
        thread.setRobustList(robust.head()).setRobustListLen(robust.length());
        injector.check("prctl(PR_GET_TID_ADDRESS)", Arch.SYS_PRCTL, PR_GET_TID_ADDRESS, injector.scratch(), 0, 0, 0);
        thread.setClearChildTid(injector.getLong(0));
        int tid = tracee.tid();
        Scheduling.Policy policy = Scheduling.policy(tid);
        thread.setScheduling(dev.amber.image.proto.Scheduling.newBuilder()
                .setCpuAffinity(com.google.protobuf.ByteString.copyFrom(Scheduling.affinity(tid)))
                .setNice(Scheduling.nice(tid))
                .setPolicy(policy.policy())
                .setPriority(policy.priority()));
    }

    /**
     * The thread must have no rseq area yet (the puppet has no libc): the kernel answers EBUSY
     * or EINVAL to a second registration. set_tid_address cannot fail.
     */
    public static void restore(Injector injector, Thread thread) throws IOException {
        int tid = injector.tracee().tid();
        if (thread.hasRseq()) {
            Rseq r = thread.getRseq();
            injector.check("rseq(0x" + Long.toHexString(r.getAddress()) + ", " + r.getLength() + ", 0, 0x"
                    + Integer.toHexString(r.getSignature()) + ") for thread " + tid,
                    Arch.SYS_RSEQ, r.getAddress(), Integer.toUnsignedLong(r.getLength()), 0,
                    Integer.toUnsignedLong(r.getSignature()));
        }
        if (thread.getRobustList() != 0) {
            injector.check("set_robust_list(0x" + Long.toHexString(thread.getRobustList()) + ", "
                    + thread.getRobustListLen() + ") for thread " + tid,
                    Arch.SYS_SET_ROBUST_LIST, thread.getRobustList(), thread.getRobustListLen());
        }
        injector.check("set_tid_address", Arch.SYS_SET_TID_ADDRESS, thread.getClearChildTid());
        if (thread.hasScheduling()) {
            var s = thread.getScheduling();
            // SCHED_RESET_ON_FORK (0x40000000) comes back with the policy that carries it.
            Scheduling.setPolicy(tid, new Scheduling.Policy(s.getPolicy(), s.getPriority()));
            Scheduling.setNice(tid, s.getNice());
            Scheduling.setAffinity(tid, s.getCpuAffinity().toByteArray());
        }
    }
}
