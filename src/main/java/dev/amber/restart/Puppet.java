package dev.amber.restart;

import dev.amber.image.proto.Memory;
import dev.amber.image.proto.Vma;
import dev.amber.kind.memory.AddressSpace;
import dev.amber.proc.Maps;
import dev.amber.proc.MapsEntry;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.sys.Memfd;
import dev.amber.sys.ProcessMemory;
import dev.amber.sys.Ptrace;
import dev.amber.sys.Spawn;
import dev.amber.sys.Syscall;
import dev.amber.trace.Injector;
import dev.amber.trace.Tracee;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

/**
 * The stub process that becomes the restored one. A first puppet is spawned and seized; an
 * injected clone3 with {@code set_tid} makes its child at exactly the saved PID (no
 * ns_last_pid race), with CLONE_PARENT so that the child's parent is Amber itself (which can
 * then wait for it), and the first puppet is killed. All puppets carry PTRACE_O_EXITKILL: if
 * Amber dies, they die with it. {@link #prepare} then empties the child's address space but for a
 * work area (the syscall gadget and the scratch space) and the vDSO.
 */
final class Puppet implements AutoCloseable {
    private static final long CLONE_PARENT = 0x00008000L, CLONE_FILES = 0x00000400L;
    private static final int WORK_AREA = Arch.PAGE_SIZE + Injector.SCRATCH_SIZE;
    /** Where a puppet is born with a pidfd of Amber (inherited by every puppet cloned from it). */
    static final int AMBER_PIDFD = 4;
    private int amberPidfdAt = AMBER_PIDFD;
    private static final int RLIMIT_NOFILE = 7;
    private static final int PROT_RWX = 7, MAP_PRIVATE_ANON = 0x22, MAP_FIXED_NOREPLACE = 0x100000;

    private final Tracee tracee;
    private Injector injector;
    private long workArea;
    private boolean alive = true;
    /** Where its syscall instruction is: the puppet program's, or the work area of the puppet it was cloned from. */
    private long gadget = PuppetElf.SYSCALL_AT;
    /** Where its pidfd of Amber is now (inherited at that number). */
    private int pidfdNow = AMBER_PIDFD;
    /** Its descriptor table, which puppets cloned with CLONE_FILES share. */
    private Table table = new Table();

    /**
     * One descriptor table and the puppets that hold it and are still being restored: Amber's
     * pidfd in it is closed by the last of them, unless the process's own descriptor was put
     * over it (kind.file, a table with no spare number).
     */
    private static final class Table {
        int holders = 1;
        boolean pidfdGone;
    }

    private Puppet(Tracee tracee) {
        this.tracee = tracee;
        dev.amber.kind.TreeRestore.amberPidfd(tracee.tid(), AMBER_PIDFD);   // born with it (see first())
    }

    /**
     * Spawns the first puppet, seized, from which the tree's root (and any helper standing in for
     * a gone session leader of the root) is cloned with CLONE_PARENT, so that Amber is the root's
     * parent. Runs on the tracer thread.
     */
    static Puppet first() throws IOException {
        int memfd = Memfd.create("amber-puppet", PuppetElf.bytes());
        int amber = (int) Syscall.check("pidfd_open", "amber itself", Arch.SYS_PIDFD_OPEN, ProcessHandle.current().pid(),
                0, 0);
        int first;
        try {
            first = new Spawn("/proc/self/fd/3", List.of("amber-puppet"))
                    .env(Map.of())
                    .input(0, "/dev/null").output(1, "/dev/null", true).output(2, "/dev/null", true)
                    .dup2(memfd, 3)
                    .dup2(amber, AMBER_PIDFD)
                    .start();
        } finally {
            Memfd.close(memfd);
            Memfd.close(amber);
        }
        try {
            return new Puppet(Tracee.seize(first, Ptrace.O_TRACECLONE | Ptrace.O_TRACEFORK | Ptrace.O_EXITKILL));
        } catch (IOException | RuntimeException e) {
            kill(first);
            throw e;
        }
    }

    /**
     * Clones this (still untouched) puppet into a new one at exactly {@code pid} (clone3 with
     * set_tid). With {@code sibling} the new one is this one's sibling (CLONE_PARENT: it gets this
     * one's parent, and its exit signal), else its child, sending {@code exitSignal} when it ends.
     * Traced from birth (the ptrace options are inherited).
     */
    Puppet fork(int pid, boolean sibling, int exitSignal) throws IOException {
        return fork(pid, sibling, exitSignal, false);
    }

    /** {@link #fork(int, boolean, int)}, with {@code sharedTable}: the new one shares this one's descriptor table (CLONE_FILES). */
    Puppet fork(int pid, boolean sibling, int exitSignal, boolean sharedTable) throws IOException {
        Injector inj = injector();
        int[] child = {0};
        inj.onNewTask(id -> child[0] = id);
        try {
            ByteBuffer args = ByteBuffer.allocate(88).order(ByteOrder.LITTLE_ENDIAN);
            long setTid = inj.put(128, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(pid).array());
            // exit_signal must be 0 with CLONE_PARENT: the child takes the caller's.
            args.putLong((sibling ? CLONE_PARENT : 0) | (sharedTable ? CLONE_FILES : 0)).putLong(0).putLong(0).putLong(0)
                    .putLong(sibling ? 0 : exitSignal).putLong(0).putLong(0).putLong(0).putLong(setTid).putLong(1)
                    .putLong(0);
            long r = inj.call(Arch.SYS_CLONE3, inj.put(0, args.array()), 88);
            if (r == -Errno.EEXIST) {
                throw new IOException("pid " + pid + " is in use: end the process that has it, then restart");
            }
            dev.amber.sys.ErrnoException.check(r, "clone3 with set_tid " + pid, "in puppet " + tracee.tid());
            // r is the pid in the caller's pid namespace, the event's the one Amber sees: both are
            // the saved pid, unless the child is in a new pid namespace (restart --new-pidns).
            if (child[0] <= 0 || r != pid && r != child[0]) {
                throw new IllegalStateException("clone3 made pid " + r + " (event " + child[0] + "), not " + pid);
            }
            Puppet born = new Puppet(Tracee.adopt(child[0], tracee));
            born.gadget = inj.gadget();   // its memory is this one's: so is the syscall instruction
            born.pidfdNow = pidfdNow;
            if (sharedTable) {
                born.table = table;
                born.amberPidfdAt = pidfdNow;   // the same table: the same number, left where it is
                table.holders++;
            }
            dev.amber.kind.TreeRestore.amberPidfd(born.pid(), pidfdNow);
            return born;
        } catch (IOException | RuntimeException e) {
            if (child[0] > 0) {
                kill(child[0]);
            }
            throw e;
        } finally {
            inj.onNewTask(id -> { });
        }
    }

    /** Ends a puppet that was never released (the first one, a helper): killed, its exit reaped. */
    static void kill(int pid) {
        Syscall.raw(Arch.SYS_KILL, pid, 9, 0);
        try {
            Ptrace.waitFor(pid, 0);
        } catch (IOException e) {
            // Already reaped.
        }
    }

    int pid() {
        return tracee.tid();
    }

    /** Let go by someone else (a zombie made to exit): close() no longer kills it. */
    void released() {
        alive = false;
        table.holders--;   // a zombie made to exit: its table is no longer its
    }

    Tracee tracee() {
        return tracee;
    }

    /** The injector, made on first use (on the puppet program's own syscall until {@link #prepare}). */
    Injector injector() throws IOException {
        if (injector == null) {
            injector = new Injector(tracee, gadget);
        }
        return injector;
    }

    /**
     * Maps the work area where nothing of the puppet or the image lies, moves the gadget and
     * scratch space there, and unmaps everything else of the puppet but the vDSO; closes every
     * descriptor.
     */
    void prepare(Memory saved, List<Vma> kept) throws IOException {
        Injector injector = injector();
        List<MapsEntry> current = Maps.read(tracee.tid());
        AddressSpace space = new AddressSpace();
        current.forEach(m -> space.add(m.start(), m.end()));
        for (Vma v : saved.getVmasList()) {
            space.add(v.getStart(), v.getEnd());
        }
        workArea = space.findFree(WORK_AREA);
        injector.check("mmap work area", Arch.SYS_MMAP, workArea, WORK_AREA, PROT_RWX,
                MAP_PRIVATE_ANON | MAP_FIXED_NOREPLACE, -1, 0);
        ProcessMemory.write(tracee.tid(), workArea, Arch.SYSCALL_INSN);
        injector.setGadget(workArea);
        injector.useScratch(workArea + Arch.PAGE_SIZE);

        AddressSpace keep = new AddressSpace().add(workArea, workArea + WORK_AREA);
        current.stream().filter(m -> m.path().equals("[vdso]") || m.path().equals("[vvar]")
                || m.path().equals("[vvar_vclock]")).forEach(m -> keep.add(m.start(), m.end()));
        kept.forEach(v -> keep.add(v.getStart(), v.getEnd()));   // inherited from the parent as they were saved
        for (long[] gap : keep.gaps(0, Arch.TASK_SIZE)) {
            injector.check("munmap puppet memory", Arch.SYS_MUNMAP, gap[0], gap[1] - gap[0]);
        }
        raiseFdLimit(injector);
        if (table.holders > 1) {   // its parent's table (CLONE_FILES): the parent's own restore is in it
            dev.amber.kind.TreeRestore.amberPidfd(tracee.tid(), pidfdNow);
            return;
        }
        // Amber's pidfd moves to a number the process does not use (kind.SpareFds); the rest is closed.
        int at = amberPidfdAt;
        if (at != pidfdNow) {
            injector.check("dup3 amber's pidfd", Arch.SYS_DUP3, pidfdNow, at, 0);
        }
        pidfdNow = at;
        injector.check("close_range", Arch.SYS_CLOSE_RANGE, 0, at - 1, 0);
        injector.check("close_range", Arch.SYS_CLOSE_RANGE, at + 1, 0xffffffffL, 0);
        dev.amber.kind.TreeRestore.amberPidfd(tracee.tid(), at);
        amberPidfdAt = at;
    }

    /**
     * The soft RLIMIT_NOFILE limit goes up to the hard one for the restore: a descriptor number
     * at or above the soft limit cannot be used (dup3 EBADF, open EMFILE), and the saved table,
     * Amber's descriptors and the restore's temporaries may need every number up to the hard
     * limit. kind.attr puts the saved limits back after the descriptors.
     */
    private void raiseFdLimit(Injector inj) throws IOException {
        long old = inj.scratch() + 32;
        inj.check("prlimit64(RLIMIT_NOFILE, NULL, &old)", Arch.SYS_PRLIMIT64, 0, RLIMIT_NOFILE, 0, old);
        long hard = ByteBuffer.wrap(inj.get(32 + 8, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
        byte[] raised = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(hard).putLong(hard).array();
        inj.check("prlimit64(RLIMIT_NOFILE, soft " + hard + ", hard " + hard + ")", Arch.SYS_PRLIMIT64, 0, RLIMIT_NOFILE,
                inj.put(0, raised), 0);
    }

    /** Where {@link #prepare} puts Amber's pidfd (kind.SpareFds). */
    void amberPidfdAt(int fd) {
        if (table.holders == 1) {
            amberPidfdAt = fd;
        }
    }

    /**
     * Closes Amber's pidfd in the puppet once every descriptor is restored, unless the
     * descriptor table put a descriptor of the process over it (a table with no spare number).
     */
    void dropAmberPidfd() throws IOException {
        table.pidfdGone |= dev.amber.kind.TreeRestore.amberPidfd(tracee.tid()) == null;
        dev.amber.kind.TreeRestore.forgetAmberPidfd(tracee.tid());
        if (--table.holders == 0 && !table.pidfdGone) {
            injector.check("close amber's pidfd", Arch.SYS_CLOSE, amberPidfdAt);
        }
    }

    /** Unmaps the work area: the last injected call, after which only registers are set. */
    void dropWorkArea() throws IOException {
        injector.forgetScratch();
        injector.check("munmap work area", Arch.SYS_MUNMAP, workArea, WORK_AREA);
    }

    /**
     * Lets every thread of the restored process run, or, with a {@code stopSignal}, queues it
     * first so the whole process stops as soon as it is let go: some thread that does not block
     * it dequeues it before running any code of its own, and its group-stop tells the parent.
     */
    void release(java.util.List<Tracee> threads, int stopSignal) throws IOException {
        if (stopSignal != 0) {
            Syscall.check("kill(" + stopSignal + ")", "pid " + tracee.tid(), Arch.SYS_KILL, tracee.tid(), stopSignal, 0);
        }
        for (Tracee t : threads) {
            t.detach(false);
        }
        alive = false;
    }

    /**
     * Kills the puppet unless it was released, with every thread it has made so far: they are
     * traced, so each one's exit is reaped here, the leader's last (the kernel holds it back
     * until the others are gone).
     */
    @Override
    public void close() {
        dev.amber.kind.TreeRestore.forgetAmberPidfd(tracee.tid());
        if (alive) {
            int[] threads;
            try {
                threads = dev.amber.proc.Tasks.list(tracee.tid());
            } catch (IOException e) {
                threads = new int[0];
            }
            Syscall.raw(Arch.SYS_KILL, tracee.tid(), 9, 0);
            for (int tid : threads) {
                if (tid != tracee.tid()) {
                    reap(tid);
                }
            }
            reap(tracee.tid());
            alive = false;
        }
    }

    private static void reap(int tid) {
        try {
            Ptrace.waitFor(tid, 0);
        } catch (IOException e) {
            // Already reaped.
        }
    }
}
