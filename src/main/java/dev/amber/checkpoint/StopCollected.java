package dev.amber.checkpoint;

import dev.amber.image.proto.Process;
import dev.amber.proc.ProcStatus;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Whether the parent of a stopped process has already collected its stop. A group-stop is
 * reported to the parent's waitpid(WUNTRACED) once: the wait clears the group's exit code
 * (kernel/exit.c wait_task_stopped), which /proc does not show. So the parent, held like the
 * rest of the tree, is asked with waitid(P_PID, child, WSTOPPED | WNOHANG | WNOWAIT), which
 * reports without collecting; an empty answer (si_pid 0) means the stop was collected.
 */
final class StopCollected {
    private static final int P_PID = 1, WNOHANG = 1, WSTOPPED = 2, WNOWAIT = 0x01000000, SI_PID_AT = 16;

    /** A held process: its pid, its record, and its leader's injector. */
    record Held(int pid, Process.Builder record, Injector injector) {}

    private StopCollected() {}

    /** Sets {@code stop_collected} on every stopped process whose parent is held too. */
    static void mark(List<Held> held) throws IOException {
        for (Held child : held) {
            if (!child.record().getStopped()) {
                continue;
            }
            for (Held parent : held) {
                if (parent.pid() == child.record().getPpid()) {
                    child.record().setStopCollected(collected(parent.injector(), child.pid()));
                }
            }
        }
    }

    private static boolean collected(Injector parent, int child) throws IOException {
        int[] nspid = ProcStatus.read(child).nspid();   // the child's pid as its parent sees it
        int pid = nspid.length > 0 ? nspid[nspid.length - 1] : child;
        long info = parent.put(0, new byte[128]);
        parent.check("waitid(P_PID " + pid + ", WSTOPPED | WNOHANG | WNOWAIT)", Arch.SYS_WAITID, P_PID, pid, info,
                WSTOPPED | WNOHANG | WNOWAIT, 0);
        return ByteBuffer.wrap(parent.get(SI_PID_AT, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt() == 0;
    }
}
