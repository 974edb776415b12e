package dev.amber.restart;

import dev.amber.image.proto.Process;
import dev.amber.kind.signal.SignalKind;
import dev.amber.proc.ProcStat;
import java.io.IOException;
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
    private static final int SIGSTOP = 19;

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
