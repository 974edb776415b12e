package dev.amber.trace;

import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.ProcessMemory;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Makes a stopped task run system calls of Amber's choosing: registers are set to the call and
 * its arguments with the instruction pointer on a {@code syscall} instruction (the gadget), the
 * task is resumed with PTRACE_SYSCALL to its syscall-entry and then syscall-exit stop, and rax
 * holds the result. The task executes nothing but that one instruction, so no memory of the
 * task is written to make this work.
 *
 * <p>While open, every signal is blocked (PTRACE_SETSIGMASK) so no handler runs in between;
 * {@link #close} puts back the registers (as the kernel would resume them), the mask, and any
 * signal that arrived meanwhile, as pending.
 */
public final class Injector implements AutoCloseable {
    // MAP_SHARED: a shmem mapping never merges with a neighbour of the task's, so it stays its own
    // area in /proc/PID/maps and can be left out of what is saved, and unmapped whole.
    private static final long PROT_RW = 3, MAP_SHARED_ANON = 0x21;
    public static final int SCRATCH_SIZE = 1 << 16;
    private static final int SIGSTOP = 19;

    private final Tracee tracee;
    private final Regs saved;
    private final long savedMask;
    private long gadget;
    private long scratch;
    private boolean ownsScratch;
    private Regs finalRegs;
    private long finalMask;
    private IntConsumer newTasks = id -> {};

    public Injector(Tracee tracee, long gadget) throws ErrnoException {
        this.tracee = tracee;
        this.gadget = gadget;
        this.saved = tracee.regs();
        this.savedMask = tracee.sigmask();
        tracee.setSigmask(-1L);
    }

    public Tracee tracee() {
        return tracee;
    }

    /** The registers the task had when the injector took it. */
    public Regs savedRegs() {
        return saved;
    }

    public long savedMask() {
        return savedMask;
    }

    public void setGadget(long gadget) {
        this.gadget = gadget;
    }

    /** Called with the id of each task a clone/fork of an injected call creates. */
    public void onNewTask(IntConsumer newTasks) {
        this.newTasks = newTasks;
    }

    /** Runs one call; returns the kernel's result ({@code -errno} on failure). */
    public long call(long nr, long... args) throws IOException {
        Regs r = saved.with(Arch.RAX, nr).with(Arch.ORIG_RAX, -1).with(Arch.RIP, gadget);
        // Unused argument registers are zeroed: prctl and others reject stray non-zero ones.
        for (int i = 0; i < Arch.SYSCALL_ARGS.length; i++) {
            r = r.with(Arch.SYSCALL_ARGS[i], i < args.length ? args[i] : 0);
        }
        tracee.setRegs(r);
        tracee.stepToSyscallStop(newTasks);  // entry
        tracee.stepToSyscallStop(newTasks);  // exit
        return tracee.regs().get(Arch.RAX);
    }

    /** Runs one call and throws, naming it and the task, if it failed. */
    public long check(String name, long nr, long... args) throws IOException {
        return ErrnoException.check(call(nr, args), name, "in pid " + tracee.tid());
    }

    /** A scratch area of {@link #SCRATCH_SIZE} bytes mapped in the task, for arguments that are pointers. */
    public long scratch() throws IOException {
        if (scratch == 0) {
            scratch = check("mmap scratch", Arch.SYS_MMAP, 0, SCRATCH_SIZE, PROT_RW, MAP_SHARED_ANON, -1, 0);
            ownsScratch = true;
        }
        return scratch;
    }

    /** Copies {@code data} into the scratch area at {@code offset}; returns its address in the task. */
    public long put(int offset, byte[] data) throws IOException {
        long at = scratch() + offset;
        ProcessMemory.write(tracee.tid(), at, data);
        return at;
    }

    public long putString(int offset, String s) throws IOException {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] z = java.util.Arrays.copyOf(b, b.length + 1);
        return put(offset, z);
    }

    public byte[] get(int offset, int length) throws IOException {
        return ProcessMemory.read(tracee.tid(), scratch() + offset, length);
    }

    public long getLong(int offset) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(8);
            ProcessMemory.read(tracee.tid(), scratch() + offset, s);
            return s.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0);
        }
    }

    /** Uses {@code address} (at least {@link #SCRATCH_SIZE} bytes, mapped by the caller) as the scratch area. */
    public void useScratch(long address) {
        this.scratch = address;
        this.ownsScratch = false;
    }

    /** The address of the {@code syscall} instruction calls go through. */
    public long gadget() {
        return gadget;
    }

    /** Forgets the scratch area without unmapping it (the caller has unmapped or replaced it). */
    public void forgetScratch() {
        scratch = 0;
    }

    /**
     * On close, set these registers and this signal mask instead of resuming the task as it was
     * (a restored task gets its saved ones).
     */
    public void finishWith(Regs regs, long mask) {
        this.finalRegs = regs;
        this.finalMask = mask;
    }

    /** Puts the task back: scratch unmapped, held signals queued again, registers and mask restored. */
    @Override
    public void close() throws IOException {
        boolean signalArrived = !tracee.heldSignals().isEmpty();
        boolean deliverNow = false, stop = false;
        List<byte[]> held = new ArrayList<>(tracee.heldSignals());
        tracee.heldSignals().clear();
        for (byte[] info : held) {
            int signo = info[0] & 0xff;
            deliverNow |= (savedMask & (1L << (signo - 1))) == 0;
            if (signo == SIGSTOP) {
                stop = true;   // cannot be blocked: queued now, it would stop the next injected call
            } else {
                requeue(info);
            }
        }
        if (scratch != 0 && ownsScratch) {
            check("munmap scratch", Arch.SYS_MUNMAP, scratch, SCRATCH_SIZE);
        }
        scratch = 0;
        Regs resume = finalRegs != null ? finalRegs
                : deliverNow ? saved   // the kernel's own restart logic runs with the signal
                : SyscallRestart.forResume(saved, signalArrived);
        tracee.setRegs(resume);
        tracee.setSigmask(finalRegs != null ? finalMask : savedMask);
        if (stop) {
            // Sent from outside once nothing more is injected: it waits, pending, until the task
            // is let go, and then stops it (nobody reads a SIGSTOP's siginfo).
            ErrnoException.check(Syscall.raw(Arch.SYS_TKILL, tracee.tid(), SIGSTOP, 0), "tkill(SIGSTOP)",
                    "pid " + tracee.tid());
        }
    }

    private void requeue(byte[] info) throws IOException {
        int signo = info[0] & 0xff;
        long at = put(0, info);
        long pid = tracee.tid();
        // rt_tgsigqueueinfo to itself: allowed for any si_code, since sender == target.
        check("rt_tgsigqueueinfo", Arch.SYS_RT_TGSIGQUEUEINFO, tgid(), pid, signo, at);
    }

    private long tgid() throws IOException {
        return check("getpid", Arch.SYS_GETPID);
    }

}
