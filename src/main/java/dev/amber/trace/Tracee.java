package dev.amber.trace;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.Ptrace;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * One task under ptrace, stopped. Created by {@link #seize}; every method runs on the tracer
 * thread. Signals that arrive while Amber holds the task are taken off the task (signal-delivery
 * stops are suppressed) and kept in {@link #heldSignals()}, so the caller can put them back as
 * pending: none is lost, none is delivered early.
 */
public final class Tracee {
    public static final int SIGINFO_SIZE = 128;
    private static final int SIGTRAP = 5;
    private static final int XSAVE_MAX = 64 * 1024;

    private final int tid;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment iov = arena.allocate(16, 8);
    private final MemorySegment buffer = arena.allocate(XSAVE_MAX, 64);
    private final List<byte[]> heldSignals = new ArrayList<>();
    private boolean attached;
    private int lastStatus;
    /** The ptrace options in force (PTRACE_O_TRACESYSGOOD always), so that one can be added. */
    private int options;
    private int groupStopSignal;

    private Tracee(int tid, int options) {
        this.tid = tid;
        this.options = options | Ptrace.O_TRACESYSGOOD;
    }

    /** PTRACE_SEIZE with {@code options}, then PTRACE_INTERRUPT, and waits for the stop. */
    public static Tracee seize(int tid, int options) throws IOException {
        Tracee t = new Tracee(tid, options);
        Ptrace.check("PTRACE_SEIZE", Ptrace.SEIZE, tid, 0, t.options);
        t.attached = true;
        try {
            Ptrace.check("PTRACE_INTERRUPT", Ptrace.INTERRUPT, tid, 0, 0);
            t.waitForStop();
            // A task seized in a group-stop re-traps at once with PTRACE_EVENT_STOP and the
            // signal that stopped its group (kernel/signal.c do_jobctl_trap: jobctl's stop
            // signal); a running one traps on the interrupt with SIGTRAP.
            int sig = Ptrace.stopSig(t.lastStatus);
            if (Ptrace.event(t.lastStatus) == Ptrace.EVENT_STOP && sig != SIGTRAP) {
                t.groupStopSignal = sig;
            }
        } catch (IOException | RuntimeException e) {
            t.detachQuietly();
            throw e;
        }
        return t;
    }

    /**
     * A task that is already traced and stopped (a child auto-attached through PTRACE_O_TRACECLONE),
     * with the options of {@code parent}, which it inherited.
     */
    public static Tracee adopt(int tid, Tracee parent) throws IOException {
        Tracee t = new Tracee(tid, parent.options);
        t.attached = true;
        t.waitForStop();
        return t;
    }

    public int tid() {
        return tid;
    }

    /**
     * The signal that had stopped the task's thread group when it was seized (SIGSTOP, SIGTSTP,
     * SIGTTIN or SIGTTOU), or 0 when the task was not in a group-stop.
     */
    public int groupStopSignal() {
        return groupStopSignal;
    }

    public List<byte[]> heldSignals() {
        return heldSignals;
    }

    /**
     * Waits for a ptrace-stop, suppressing and keeping signal-delivery stops. With PTRACE_SEIZE,
     * the interrupt stop and group-stops both report PTRACE_EVENT_STOP.
     */
    private void waitForStop() throws IOException {
        while (true) {
            int status = waitStatus();
            if (Ptrace.event(status) != 0 || Ptrace.stopSig(status) == (0x80 | 5)) {
                return;
            }
            holdSignal();
            Ptrace.check("PTRACE_CONT", Ptrace.CONT, tid, 0, 0);
        }
    }

    private void holdSignal() throws ErrnoException {
        Ptrace.check("PTRACE_GETSIGINFO", Ptrace.GETSIGINFO, tid, 0, buffer.address());
        heldSignals.add(buffer.asSlice(0, SIGINFO_SIZE).toArray(JAVA_BYTE));
    }

    private int waitStatus() throws IOException {
        int status = Ptrace.waitFor(tid, 0);
        lastStatus = status;
        if (Ptrace.exited(status)) {
            attached = false;
            throw new TraceeGoneException(tid, "exited with status " + Ptrace.exitCode(status));
        }
        if (!Ptrace.stopped(status)) {
            attached = false;
            throw new TraceeGoneException(tid, "was killed by signal " + Ptrace.termSig(status));
        }
        return status;
    }

    /** The raw wait status of the last stop. */
    public int lastStatus() {
        return lastStatus;
    }

    public Regs regs() throws ErrnoException {
        return Regs.fromBytes(getRegset(Ptrace.NT_PRSTATUS, Arch.REGS_COUNT * 8));
    }

    public void setRegs(Regs regs) throws ErrnoException {
        setRegset(Ptrace.NT_PRSTATUS, regs.toBytes());
    }

    /** The full XSAVE area (x87, SSE, AVX, AVX-512, AMX: what the CPU has), as long as the kernel says. */
    public byte[] xsave() throws ErrnoException {
        return getRegset(Ptrace.NT_X86_XSTATE, XSAVE_MAX);
    }

    public void setXsave(byte[] xsave) throws ErrnoException {
        setRegset(Ptrace.NT_X86_XSTATE, xsave);
    }

    private byte[] getRegset(int type, int max) throws ErrnoException {
        iov.set(JAVA_LONG, 0, buffer.address());
        iov.set(JAVA_LONG, 8, max);
        Ptrace.check("PTRACE_GETREGSET " + type, Ptrace.GETREGSET, tid, type, iov.address());
        long len = iov.get(JAVA_LONG, 8);
        return buffer.asSlice(0, len).toArray(JAVA_BYTE);
    }

    private void setRegset(int type, byte[] data) throws ErrnoException {
        MemorySegment.copy(data, 0, buffer, JAVA_BYTE, 0, data.length);
        iov.set(JAVA_LONG, 0, buffer.address());
        iov.set(JAVA_LONG, 8, data.length);
        Ptrace.check("PTRACE_SETREGSET " + type, Ptrace.SETREGSET, tid, type, iov.address());
    }

    /** The blocked signal mask (the one sigsuspend() will put back, if the task is in it). */
    public long sigmask() throws ErrnoException {
        Ptrace.check("PTRACE_GETSIGMASK", Ptrace.GETSIGMASK, tid, 8, buffer.address());
        return buffer.get(JAVA_LONG, 0);
    }

    public void setSigmask(long mask) throws ErrnoException {
        buffer.set(JAVA_LONG, 0, mask);
        Ptrace.check("PTRACE_SETSIGMASK", Ptrace.SETSIGMASK, tid, 8, buffer.address());
    }

    /** Queued signals, without dequeuing them: the thread's own, or ({@code shared}) the process's. */
    public List<byte[]> pendingSignals(boolean shared) throws ErrnoException {
        List<byte[]> out = new ArrayList<>();
        MemorySegment args = arena.allocate(16, 8);
        int batch = XSAVE_MAX / SIGINFO_SIZE;
        while (true) {
            args.set(JAVA_LONG, 0, out.size());
            args.set(JAVA_INT, 8, shared ? Ptrace.PEEKSIGINFO_SHARED : 0);
            args.set(JAVA_INT, 12, batch);
            long n = ErrnoException.check(
                    Ptrace.call(Ptrace.PEEKSIGINFO, tid, args.address(), buffer.address()),
                    "PTRACE_PEEKSIGINFO", "pid " + tid);
            for (int i = 0; i < n; i++) {
                out.add(buffer.asSlice((long) i * SIGINFO_SIZE, SIGINFO_SIZE).toArray(JAVA_BYTE));
            }
            if (n < batch) {
                return out;
            }
        }
    }

    /**
     * Adds PTRACE_O_SUSPEND_SECCOMP: the task's seccomp filters (or strict mode) no longer apply
     * while Amber traces it, so injected calls are not refused or fatal. Needs CAP_SYS_ADMIN.
     */
    public void suspendSeccomp() throws ErrnoException {
        if ((options & Ptrace.O_SUSPEND_SECCOMP) != 0) {
            return;
        }
        Ptrace.check("PTRACE_SETOPTIONS(PTRACE_O_SUSPEND_SECCOMP)", Ptrace.SETOPTIONS, tid, 0,
                options | Ptrace.O_SUSPEND_SECCOMP);
        options |= Ptrace.O_SUSPEND_SECCOMP;
    }

    /**
     * The seccomp filter {@code index} of the task's chain, as its BPF instructions (8 bytes
     * each), with its flags from PTRACE_SECCOMP_GET_METADATA; null past the newest. Index 0 is the
     * oldest filter, the first installed (checked on 6.18: the kernel's get_nth_filter counts from
     * the end of the chain, whatever ptrace(2) says). Needs CAP_SYS_ADMIN, and the task in filter
     * mode (EINVAL otherwise).
     *
     * <pre>
     * struct seccomp_metadata { __u64 filter_off; __u64 flags; }
     * </pre>
     */
    public SeccompProgram seccompFilter(int index) throws ErrnoException {
        long n = Ptrace.call(Ptrace.SECCOMP_GET_FILTER, tid, index, 0);
        if (n == -Errno.ENOENT) {
            return null;
        }
        ErrnoException.check(n, "PTRACE_SECCOMP_GET_FILTER " + index, "pid " + tid);
        if (n * 8 > XSAVE_MAX) {
            throw new IllegalStateException("seccomp filter of " + n + " instructions: over " + XSAVE_MAX / 8);
        }
        ErrnoException.check(Ptrace.call(Ptrace.SECCOMP_GET_FILTER, tid, index, buffer.address()),
                "PTRACE_SECCOMP_GET_FILTER " + index, "pid " + tid);
        byte[] program = buffer.asSlice(0, n * 8).toArray(JAVA_BYTE);
        buffer.set(JAVA_LONG, 0, index);
        buffer.set(JAVA_LONG, 8, 0);
        ErrnoException.check(Ptrace.call(Ptrace.SECCOMP_GET_METADATA, tid, 16, buffer.address()),
                "PTRACE_SECCOMP_GET_METADATA " + index, "pid " + tid);
        return new SeccompProgram(program, buffer.get(JAVA_LONG, 8));
    }

    /** One seccomp filter: its classic BPF program and its SECCOMP_FILTER_FLAG_* flags. */
    public record SeccompProgram(byte[] instructions, long flags) {}

    /** The registered rseq area: {address, length, signature}, address 0 when none. */
    public long[] rseq() throws ErrnoException {
        long r = Ptrace.call(Ptrace.GET_RSEQ_CONFIGURATION, tid, 32, buffer.address());
        if (r == -Errno.EIO || r == -Errno.EINVAL) {
            return new long[] {0, 0, 0};
        }
        ErrnoException.check(r, "PTRACE_GET_RSEQ_CONFIGURATION", "pid " + tid);
        return new long[] {buffer.get(JAVA_LONG, 0), buffer.get(JAVA_INT, 8) & 0xffffffffL,
                buffer.get(JAVA_INT, 12) & 0xffffffffL};
    }

    /**
     * Resumes with PTRACE_SYSCALL until the next syscall-stop; ptrace events met on the way
     * (clone, fork) are reported to {@code events} with their message (the new task's id).
     */
    void stepToSyscallStop(java.util.function.IntConsumer newTasks) throws IOException {
        Ptrace.check("PTRACE_SYSCALL", Ptrace.SYSCALL, tid, 0, 0);
        while (true) {
            int status = waitStatus();
            int sig = Ptrace.stopSig(status);
            int event = Ptrace.event(status);
            if (sig == (0x80 | 5) && event == 0) {
                return;
            }
            if (event == Ptrace.EVENT_CLONE || event == Ptrace.EVENT_FORK || event == Ptrace.EVENT_VFORK) {
                Ptrace.check("PTRACE_GETEVENTMSG", Ptrace.GETEVENTMSG, tid, 0, buffer.address());
                newTasks.accept((int) buffer.get(JAVA_LONG, 0));
            } else if (event == 0) {
                holdSignal();
            }
            Ptrace.check("PTRACE_SYSCALL", Ptrace.SYSCALL, tid, 0, 0);
        }
    }

    /** Lets the task run again, no longer traced; with {@code stopped}, it stays in a group-stop. */
    public void detach(boolean stopped) throws ErrnoException {
        if (!attached) {
            return;
        }
        Ptrace.check("PTRACE_DETACH", Ptrace.DETACH, tid, 0, stopped ? 19 : 0);
        attached = false;
    }

    /** Detaches ignoring errors: the task may be gone already. */
    public void detachQuietly() {
        if (attached) {
            Ptrace.call(Ptrace.DETACH, tid, 0, 0);
            attached = false;
        }
    }

    public boolean attached() {
        return attached;
    }
}
