package dev.amber.restart;

import dev.amber.image.proto.Process;
import dev.amber.kind.signal.SignalKind;
import dev.amber.proc.ProcStat;
import dev.amber.sys.Arch;
import dev.amber.trace.Gadget;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Which stop signal a restored process gets as it is let go, so that it is stopped again as it
 * was: the group-stop signal its parent's {@code waitpid(WUNTRACED)} will report
 * ({@link SignalKind#stopAtRelease}). The kernel discards SIGTSTP, SIGTTIN and SIGTTOU (not
 * SIGSTOP) sent to a process whose group is orphaned (kernel/signal.c get_signal,
 * is_current_pgrp_orphaned): such a process, which the restart could not stop with its own
 * signal, gets SIGSTOP instead, with a warning.
 */
final class GroupStop {
    private static final int SIGSTOP = 19, SIGCHLD = 17, P_PID = 1, WNOHANG = 1, WSTOPPED = 2;

    private GroupStop() {}

    /** The signal to send restored {@code p} (host pid {@code pid}) before its release, or 0. */
    static int signal(Process p, int pid, boolean frozen, List<String> warnings) throws IOException {
        int signal = SignalKind.stopAtRelease(p, frozen);
        if (signal == 0 || signal == SIGSTOP || !orphaned(pid)) {
            return signal;
        }
        warnings.add("pid " + p.getPid() + " was stopped by signal " + signal + ", which the kernel discards in an"
                + " orphaned process group as its group is here: it is restarted stopped by SIGSTOP (19) instead");
        return SIGSTOP;
    }

    /**
     * Once stopped child {@code child} (host pid {@code hostPid}) is let go with {@code signal}
     * and has stopped, puts its parent, still held, back as the original stop had left it: the
     * SIGCHLD (CLD_STOPPED) this stop queued for it is taken off unless one was pending in the
     * image, and a stop the parent had collected ({@code stop_collected}) is collected again
     * with waitid(WSTOPPED | WNOHANG), so that its waitpid(WUNTRACED) reports it only if it had
     * not. The calls run with every signal blocked, on a syscall instruction of the restored
     * vDSO (the work area is gone), and the parent's registers and mask are put back after.
     */
    static void settle(Puppet parent, Process parentRecord, Process child, int hostPid, int signal)
            throws IOException {
        awaitStopped(child.getPid(), hostPid, signal);
        Injector inj = parent.injector();
        inj.setGadget(Gadget.find(parent.pid()));
        parent.tracee().setSigmask(-1L);
        if (child.getStopCollected()) {
            inj.check("waitid(P_PID " + child.getPid() + ", WSTOPPED | WNOHANG) in pid " + parentRecord.getPid(),
                    Arch.SYS_WAITID, P_PID, child.getPid(), 0, WSTOPPED | WNOHANG, 0);
        }
        if (!sigchldPending(parentRecord)) {
            long set = inj.put(0, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << (SIGCHLD - 1))
                    .array());
            long zero = inj.put(16, new byte[16]);
            inj.call(Arch.SYS_RT_SIGTIMEDWAIT, set, 0, zero, 8);   // EAGAIN when the parent had SA_NOCLDSTOP
        }
        inj.close();
    }

    private static boolean sigchldPending(Process p) {
        return p.getSignals().getSharedPendingList().stream().anyMatch(i -> (i.byteAt(0) & 0xff) == SIGCHLD)
                || p.getThreadsList().stream().flatMap(t -> t.getPendingList().stream())
                .anyMatch(i -> (i.byteAt(0) & 0xff) == SIGCHLD);
    }

    private static void awaitStopped(int pid, int hostPid, int signal) throws IOException {
        for (int i = 0; i < 1000; i++) {
            if (ProcStat.read(hostPid).state() == 'T') {
                return;
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        throw new IOException("pid " + pid + " did not stop on signal " + signal + " within 2 s of being let go");
    }

    /**
     * Whether the process group of {@code pid} is orphaned: no member has a parent in another
     * group of the same session (zombies, and parents that are pid 1, do not count), as will_become_orphaned_pgrp
     * decides.
     */
    static boolean orphaned(int pid) throws IOException {
        ProcStat self = ProcStat.read(pid);
        try (DirectoryStream<Path> all = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path d : all) {
                ProcStat member;
                ProcStat parent;
                try {
                    member = ProcStat.read(Integer.parseInt(d.getFileName().toString()));
                    if (member.pgrp() != self.pgrp() || member.ppid() <= 1 || member.state() == 'Z') {
                        continue;
                    }
                    parent = ProcStat.read(member.ppid());
                } catch (IOException e) {
                    continue;   // ended meanwhile
                }
                if (parent.pgrp() != self.pgrp() && parent.session() == member.session()) {
                    return false;
                }
            }
        }
        return true;
    }
}
