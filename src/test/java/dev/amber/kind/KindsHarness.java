package dev.amber.kind;

import dev.amber.image.proto.Process;
import dev.amber.trace.Gadget;
import dev.amber.trace.Injector;
import dev.amber.trace.Tracee;
import dev.amber.trace.Tracer;
import java.util.List;

/**
 * Runs kinds on a live process the way the checkpoint and restart pipelines will: seize, open an
 * injector, run each kind in order, close the injector (the task is put back as it was), detach.
 */
final class KindsHarness {
    private KindsHarness() {}

    record Dumped(Process process, dev.amber.image.proto.Thread leader, List<Refusal> refusals) {}

    /** Something to check on the restored task before it is released, on the tracer thread. */
    interface Check {
        void accept(Tracee tracee) throws Exception;
    }

    static Dumped dump(Tracer tracer, int pid, List<ProcessKind> kinds) throws Exception {
        return tracer.call(() -> {
            Tracee t = Tracee.seize(pid, 0);
            try {
                Process.Builder process = Process.newBuilder().setPid(pid);
                dev.amber.image.proto.Thread.Builder leader = dev.amber.image.proto.Thread.newBuilder().setTid(pid);
                DumpContext ctx;
                try (Injector injector = new Injector(t, Gadget.find(pid))) {
                    ctx = new DumpContext(pid, List.of(new TaskHandle(t, injector)), process, List.of(leader),
                            injector.scratch());
                    for (ProcessKind kind : kinds) {
                        kind.dump(ctx);
                    }
                }
                process.addThreads(leader);
                return new Dumped(process.build(), leader.build(), List.copyOf(ctx.refusals()));
            } finally {
                t.detach(false);
            }
        });
    }

    static void restore(Tracer tracer, int pid, Process process, dev.amber.image.proto.Thread leader,
            List<ProcessKind> kinds, Check after) throws Exception {
        tracer.call(() -> {
            Tracee t = Tracee.seize(pid, 0);
            try {
                try (Injector injector = new Injector(t, Gadget.find(pid))) {
                    // Restored in place: its parent, this JVM, stays, as amber restart --wait does.
                    RestoreContext ctx = new RestoreContext(t, injector, process, leader, null,
                            dev.amber.kind.TreeRestore.of(pid).rootParentStays(true));
                    for (ProcessKind kind : kinds) {
                        kind.restore(ctx);
                    }
                }
                after.accept(t);
            } finally {
                t.detach(false);
            }
            return null;
        });
    }
}
