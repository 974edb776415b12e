package dev.amber.checkpoint;

import dev.amber.image.proto.Process;
import dev.amber.kind.Refusal;
import dev.amber.kind.memfd.MemfdEarlyKind;
import dev.amber.sys.Arch;
import dev.amber.sys.Syscall;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Processes that share more with their parent than fork gives: made with clone(2) and CLONE_VM
 * (one address space, as vfork and some spawn helpers do), CLONE_FILES (one descriptor table),
 * CLONE_FS or CLONE_SIGHAND; kcmp tells, without stopping anything more. A shared descriptor
 * table is saved ({@code Process.files_of}: a restart clones the child with CLONE_FILES), unless
 * one of the two has a memfd (its temporary descriptor during the restore would be in both
 * tables); the others a restart makes each process's own, so such a pair is refused, naming
 * what they share.
 */
final class SharedWithParent {
    private static final int KCMP_VM = 1, KCMP_FILES = 2, KCMP_FS = 3, KCMP_SIGHAND = 4;

    private SharedWithParent() {}

    /** {@code records}: each process of the tree by pid (only parents in the tree matter). */
    static List<Refusal> check(Map<Integer, Process.Builder> records) {
        List<Refusal> refusals = new ArrayList<>();
        records.forEach((pid, record) -> {
            int parent = record.getPpid();
            if (!records.containsKey(parent)) {
                return;
            }
            if (Syscall.raw(Arch.SYS_KCMP, pid, parent, KCMP_FILES, 0, 0, 0) == 0) {
                if (MemfdEarlyKind.temporaries(record.build()) + MemfdEarlyKind.temporaries(records.get(parent).build())
                        > 0) {
                    refusals.add(new Refusal(pid, "parent " + parent, "shared with the parent process",
                            "it shares its descriptor table (CLONE_FILES) with pid " + parent + ", and one of the two"
                                    + " has a memfd, which a restart cannot make in a shared table yet: not supported"));
                } else {
                    record.setFilesOf(parent);
                }
            }
            for (int[] what : new int[][] {{KCMP_VM, 0}, {KCMP_FS, 2}, {KCMP_SIGHAND, 3}}) {
                if (Syscall.raw(Arch.SYS_KCMP, pid, parent, what[0], 0, 0, 0) == 0) {
                    String[] names = {"its memory (CLONE_VM: vfork or a clone sharing the address space)",
                            "its descriptor table (CLONE_FILES)", "its working directory and umask (CLONE_FS)",
                            "its signal handlers (CLONE_SIGHAND)"};
                    refusals.add(new Refusal(pid, "parent " + parent, "shared with the parent process",
                            "it shares " + names[what[1]] + " with pid " + parent
                                    + ", which a restart cannot make again: checkpoint once it has exec'd or exited"));
                }
            }
        });
        return refusals;
    }
}
