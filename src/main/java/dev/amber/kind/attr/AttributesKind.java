package dev.amber.kind.attr;

import dev.amber.image.proto.Attributes;
import dev.amber.image.proto.Rlimit;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.Comm;
import dev.amber.proc.Personality;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.util.List;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Process attributes: personality, dumpable, parent-death signal, resource limits
 * ({@link Rlimits}), timer slack, child-subreaper, transparent huge pages disabled, and the
 * leader's thread name.
 *
 * <p>Restore runs after credentials: any change of uid, gid or capabilities (commit_creds)
 * resets dumpable to the suid_dumpable sysctl and clears the parent-death signal, so both would
 * be lost if set before. Rlimits are set from inside the task, so the restoring tool needs no
 * matching ids; raising a hard limit still needs CAP_SYS_RESOURCE in the task.
 */
public final class AttributesKind implements ProcessKind {
    static final int PR_SET_PDEATHSIG = 1, PR_GET_PDEATHSIG = 2, PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4,
            PR_SET_NAME = 15, PR_SET_TIMERSLACK = 29, PR_GET_TIMERSLACK = 30, PR_SET_CHILD_SUBREAPER = 36,
            PR_GET_CHILD_SUBREAPER = 37, PR_SET_THP_DISABLE = 41, PR_GET_THP_DISABLE = 42;
    /** dumpable 2 (SUID_DUMP_ROOT) is set only by the kernel, from the suid_dumpable sysctl. */
    static final int SUID_DUMP_ROOT = 2;
    private static final int INT_AT = 0, NAME_AT = 64;

    @Override
    public String name() {
        return "attributes";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        Injector inj = ctx.injector();
        int dumpable = (int) prctl(inj, "PR_GET_DUMPABLE", PR_GET_DUMPABLE);
        if (dumpable == SUID_DUMP_ROOT) {
            ctx.refuse("", "dumpable", "value 2 (SUID_DUMP_ROOT, from fs.suid_dumpable after a change of ids)"
                    + " cannot be set again with prctl, which accepts 0 and 1: not supported");
        }
        ctx.process().setAttributes(Attributes.newBuilder()
                .setPersonality(Personality.read(ctx.pid()))
                .setDumpable(dumpable)
                .setPdeathSignal(intResult(inj, "PR_GET_PDEATHSIG", PR_GET_PDEATHSIG))
                .addAllRlimits(Rlimits.read(ctx.pid(), inj))
                .setTimerSlackNanos(prctl(inj, "PR_GET_TIMERSLACK", PR_GET_TIMERSLACK))
                .setChildSubreaper(intResult(inj, "PR_GET_CHILD_SUBREAPER", PR_GET_CHILD_SUBREAPER) != 0)
                .setThpDisable((int) prctl(inj, "PR_GET_THP_DISABLE", PR_GET_THP_DISABLE)));
        for (int i = 0; i < ctx.tasks().size(); i++) {
            ctx.threads().get(i).setComm(Comm.read(ctx.pid(), ctx.tasks().get(i).tid()));
        }
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        Injector inj = ctx.injector();
        Attributes a = ctx.process().getAttributes();
        inj.check("personality(0x" + Integer.toHexString(a.getPersonality()) + ")", Arch.SYS_PERSONALITY,
                Integer.toUnsignedLong(a.getPersonality()));
        List<Rlimit> now = Rlimits.parse(dev.amber.proc.Limits.text(ctx.pid()));
        for (Rlimit limit : a.getRlimitsList()) {
            if (now != null && now.get(limit.getResource()).equals(limit)) {
                continue;   // inherited as saved: nothing to set
            }
            Rlimits.write(inj, ctx.pid(), limit);
        }
        prctl(inj, "PR_SET_DUMPABLE " + a.getDumpable(), PR_SET_DUMPABLE, a.getDumpable());
        if (pdeathSignalHolds(ctx, a.getPdeathSignal())) {
            prctl(inj, "PR_SET_PDEATHSIG " + a.getPdeathSignal(), PR_SET_PDEATHSIG, a.getPdeathSignal());
        }
        // 0 would mean "the default slack"; a task under a real-time policy reports 0.
        if (a.getTimerSlackNanos() > 0) {
            prctl(inj, "PR_SET_TIMERSLACK " + a.getTimerSlackNanos(), PR_SET_TIMERSLACK, a.getTimerSlackNanos());
        }
        prctl(inj, "PR_SET_CHILD_SUBREAPER", PR_SET_CHILD_SUBREAPER, a.getChildSubreaper() ? 1 : 0);
        if (a.getThpDisable() != 0) {
            // The mm's flag (fork passes it on): bit 0 says disabled, the others are the flags to set with it.
            prctl(inj, "PR_SET_THP_DISABLE 1, flags " + (a.getThpDisable() & ~1), PR_SET_THP_DISABLE, 1,
                    a.getThpDisable() & ~1);
        }
        for (int i = 0; i < ctx.tasks().size(); i++) {
            Injector thread = ctx.tasks().get(i).injector();
            String comm = ctx.process().getThreads(i).getComm();
            if (!comm.isEmpty()) {
                prctl(thread, "PR_SET_NAME \"" + comm + "\"", PR_SET_NAME, thread.putString(NAME_AT, comm));
            }
        }
    }

    /**
     * Whether the parent-death signal is set again. It means "my parent is gone", and the kernel
     * sends it when the thread that created the process ends. Inside the tree, the parent is the
     * restored parent, as saved. The root's parent was outside the tree, and is now amber restart:
     * set again when amber restart stays as long as the root (--wait, --shell-job; under
     * --new-pidns the parent is the namespace's init), so the signal comes if it ends first; left
     * unset when amber restart ends at once, which would send it as soon as the root runs.
     */
    private static boolean pdeathSignalHolds(RestoreContext ctx, int signal) {
        if (signal == 0) {
            return false;   // a new task has none
        }
        if (ctx.tree().pids().contains(ctx.process().getPpid()) || ctx.tree().rootParentStays()) {
            return true;
        }
        ctx.tree().warn("pid " + ctx.process().getPid() + ": parent-death signal " + signal + " not set again: its"
                + " parent was outside the tree, and amber restart, its parent now, ends at once, which would send"
                + " it; restart with --wait to keep it (it then comes if amber restart --wait ends first)");
        return false;
    }

    private static long prctl(Injector inj, String what, long... args) throws IOException {
        // prctl checks that unused arguments are 0, and an injected call's unset argument registers
        // hold whatever the task had in them.
        return inj.check("prctl(" + what + ")", Arch.SYS_PRCTL, java.util.Arrays.copyOf(args, 5));
    }

    /** prctl options that store an int at the address in arg2. */
    private static int intResult(Injector inj, String what, int option) throws IOException {
        prctl(inj, what, option, inj.scratch() + INT_AT);
        return ByteBuffer.wrap(inj.get(INT_AT, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }
}
