package dev.amber.checkpoint;

import dev.amber.kind.Refusal;
import dev.amber.sys.Arch;
import dev.amber.sys.Syscall;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Processes that share more with their parent than fork gives: made with clone(2) and CLONE_VM
 * (one address space, as vfork and some spawn helpers do), CLONE_FILES (one descriptor table),
 * CLONE_FS or CLONE_SIGHAND. A restart makes each process its own, so such a pair is refused,
 * naming what they share; kcmp tells, without stopping anything more.
 */
final class SharedWithParent {
    private static final int KCMP_VM = 1, KCMP_FILES = 2, KCMP_FS = 3, KCMP_SIGHAND = 4;

    private SharedWithParent() {}

    /** {@code parents}: each process of the tree and its parent's pid (only parents in the tree matter). */
    static List<Refusal> check(Map<Integer, Integer> parents) {
        List<Refusal> refusals = new ArrayList<>();
        parents.forEach((pid, parent) -> {
            if (!parents.containsKey(parent)) {
                return;
            }
            for (int[] what : new int[][] {{KCMP_VM, 0}, {KCMP_FILES, 1}, {KCMP_FS, 2}, {KCMP_SIGHAND, 3}}) {
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
