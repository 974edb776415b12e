package dev.amber.checkpoint;

import dev.amber.proc.ProcStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What must hold before a process is touched at all. */
final class Precheck {
    private Precheck() {}

    private static int tracerOf(int pid) {
        try {
            return ProcStatus.read(pid).tracerPid();
        } catch (IOException e) {
            return 0;   // ended: the freeze will not find it
        }
    }

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
        for (int member : TreeFreezer.list(pid)) {
            if (member == ProcessHandle.current().pid()) {
                throw new IOException("pid " + pid + " is an ancestor of amber itself: checkpoint a process that"
                        + " amber does not run under");
            }
            if (member != pid) {
                int tracer = tracerOf(member);
                if (tracer != 0 && tracer != ProcessHandle.current().pid()) {
                    throw new IOException("pid " + member + " (in the tree of pid " + pid + ") is already traced by pid "
                            + tracer + " (a debugger?): detach it first");
                }
            }
        }
    }
}
