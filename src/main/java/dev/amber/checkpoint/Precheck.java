package dev.amber.checkpoint;

import dev.amber.proc.ProcStatus;
import dev.amber.proc.Tasks;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What must hold before a process is touched at all. */
final class Precheck {
    private Precheck() {}

    static void process(int pid) throws IOException, RefusedException {
        if (!Files.isDirectory(Path.of("/proc/" + pid))) {
            throw new IOException("pid " + pid + ": no such process");
        }
        if (pid == ProcessHandle.current().pid()) {
            throw new IOException("pid " + pid + " is amber itself");
        }
        ProcStatus status = ProcStatus.read(pid);
        if (status.kernelThread()) {
            throw new IOException("pid " + pid + " (" + status.name() + ") is a kernel thread");
        }
        if (status.state() == 'Z' || status.state() == 'X') {
            throw new IOException("pid " + pid + " (" + status.name() + ") has exited (a zombie): nothing to save");
        }
        if (status.tracerPid() != 0) {
            throw new IOException("pid " + pid + " is already traced by pid " + status.tracerPid()
                    + " (a debugger?): detach it first");
        }
        var refusals = new java.util.ArrayList<dev.amber.kind.Refusal>();
        for (int child : Tasks.children(pid, pid)) {
            refusals.add(new dev.amber.kind.Refusal(pid, "child " + child, "process tree",
                    "child processes are not supported yet"));
        }
        if (!refusals.isEmpty()) {
            throw new RefusedException(refusals);
        }
    }
}
