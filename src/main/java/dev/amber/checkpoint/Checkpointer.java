package dev.amber.checkpoint;

import dev.amber.image.ImageException;
import dev.amber.image.ImageWriter;
import dev.amber.image.proto.Inventory;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.Thread;
import dev.amber.kind.DumpContext;
import dev.amber.kind.Kinds;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.TaskHandle;
import dev.amber.kind.memory.MemoryKind;
import dev.amber.proc.ProcStat;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.Ptrace;
import dev.amber.sys.Syscall;
import dev.amber.trace.CpuPin;
import dev.amber.trace.Gadget;
import dev.amber.trace.Injector;
import dev.amber.trace.Tracee;
import dev.amber.trace.Timing;
import dev.amber.trace.Tracer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Checkpoints one process: freeze (seize), inspect every kind (collecting all refusals), and
 * only if nothing is refused write the pages and the metadata. The process is released as soon
 * as its pages are copied, or with {@code kill} ended once the image is complete and verified.
 * On any failure, refusal or cancellation it is put back exactly as it was and the partial image
 * is removed.
 */
public final class Checkpointer {
    /** Reports progress: the phase, bytes done, bytes in all. May be called from several threads. */
    public interface Progress {
        void update(String phase, long done, long total);
    }

    private final int pid;
    private final Destination destination;
    private final boolean kill;
    private final Cancellation cancellation;
    private final Progress progress;
    private final String toolVersion;

    public Checkpointer(int pid, Destination destination, boolean kill, Cancellation cancellation, Progress progress,
            String toolVersion) {
        this.pid = pid;
        this.destination = destination;
        this.kill = kill;
        this.cancellation = cancellation;
        this.progress = progress;
        this.toolVersion = toolVersion;
    }

    public CheckpointResult run() throws IOException, ImageException, RefusedException {
        long t0 = System.nanoTime();
        Precheck.process(pid);
        try (Tracer tracer = new Tracer()) {
            try {
                return tracer.call(() -> checkpoint(t0));
            } catch (IOException | ImageException | RefusedException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private CheckpointResult checkpoint(long t0) throws Exception {
        Timing timing = new Timing("checkpoint");
        String pagesFile = MemoryKind.pagesFile(pid);
        try (ImageWriter writer = destination.open();
                PageStore store = prepare(writer, pagesFile)) {
            timing.mark("prepare");
            cancellation.check();   // Ctrl-C while the image space was being reserved: never freeze
            Frozen frozen = freezeAndCapture(store, timing);
            try {
                store.complete(done -> {
                    cancellation.check();
                    progress.update("writing pages", done, store.totalBytes());
                });
                timing.mark("pages written");
                writer.writeMessage("process-" + pid + ".pb", frozen.process);
                long imageBytes = writer.finish(Inventory.newBuilder().setRootPid(pid).setToolVersion(toolVersion));
                timing.mark("finish");
                long thawedAt = frozen.thawedAt;
                if (kill) {
                    destination.verify();   // every checksum, before anything is killed
                    timing.mark("verify");
                    Syscall.check("kill", "pid " + pid, Arch.SYS_KILL, pid, 9, 0);
                    reap(frozen.tasks);
                    thawedAt = System.nanoTime();
                }
                return new CheckpointResult(pid, thawedAt - frozen.frozenAt, System.nanoTime() - t0,
                        store.totalBytes(), imageBytes);
            } catch (Exception | Error e) {
                if (!frozen.tasks.isEmpty()) {
                    release(frozen.tasks.stream().map(TaskHandle::tracee).toList(), frozen.tasks,
                            frozen.process.getStopped());
                }
                throw e;
            }
        }
    }

    private PageStore prepare(ImageWriter writer, String pagesFile) throws IOException, ImageException {
        long estimate = PageBudget.estimate(pid);
        return PageStore.prepare(pid, writer, pagesFile, estimate,
                done -> progress.update("reserving image space", done, estimate));
    }

    /**
     * Waits for every killed thread: the tracer must reap each traced thread's exit, and the
     * kernel holds the leader's back until every other thread is reaped; so the others first.
     */
    private static void reap(List<TaskHandle> tasks) throws IOException {
        for (int i = tasks.size() - 1; i >= 0; i--) {
            try {
                Ptrace.waitFor(tasks.get(i).tid(), 0);
            } catch (ErrnoException e) {
                // Already reaped (ECHILD): nothing left to wait for.
            }
        }
    }

    /** The frozen part's outcome: the record, and with --kill the still-seized threads. */
    private record Frozen(Process process, long frozenAt, long thawedAt, List<TaskHandle> tasks) {}

    /**
     * Seizes every thread, inspects every kind, and copies the pages; releases the process (unless
     * it is to be killed) as soon as the copy is done. On refusal, failure or cancellation the
     * process is put back as it was.
     */
    private Frozen freezeAndCapture(PageStore store, Timing timing) throws Exception {
        ProcStat stat = ProcStat.read(pid);
        boolean wasStopped = stat.state() == 'T';   // stopped by a signal: it stays stopped
        CpuPin.follow(pid, stat.processor());
        Warmup.run(pid);
        List<Tracee> tracees = Freezer.freeze(pid);
        long frozenAt = System.nanoTime();
        timing.mark("seize");
        List<TaskHandle> tasks = new ArrayList<>();
        try {
            long gadget = Gadget.find(pid);
            for (Tracee t : tracees) {
                Injector injector = new Injector(t, gadget);
                if (!tasks.isEmpty()) {
                    injector.useScratch(tasks.getFirst().injector().scratch());
                }
                tasks.add(new TaskHandle(t, injector));
            }
            Process.Builder process = Process.newBuilder().setStopped(wasStopped)
                    .setPid(pid).setPpid(stat.ppid()).setPgid(stat.pgrp()).setSid(stat.session()).setComm(stat.comm());
            List<Thread.Builder> threads = tasks.stream().map(t -> Thread.newBuilder().setTid(t.tid())).toList();
            DumpContext ctx = new DumpContext(pid, tasks, process, threads, tasks.getFirst().injector().scratch());
            for (ProcessKind kind : Kinds.ALL) {
                kind.dump(ctx);
                cancellation.check();
                timing.mark(kind.name());
            }
            if (!ctx.refusals().isEmpty()) {
                throw new RefusedException(ctx.refusals());
            }
            threads.forEach(process::addThreads);
            store.capture(process.getMemory(), done -> {
                cancellation.check();
                progress.update("copying pages", done, store.totalBytes());
            });
            timing.mark("pages captured");
            if (kill) {
                return new Frozen(process.build(), frozenAt, 0, tasks);
            }
            release(tracees, tasks, wasStopped);
            return new Frozen(process.build(), frozenAt, System.nanoTime(), List.of());
        } catch (Exception | Error e) {
            release(tracees, tasks, wasStopped);
            throw e;
        }
    }

    /**
     * Puts every thread back as it was and lets the process go: injectors closed, the leader's
     * last (it owns the scratch mapping the others share), then every thread detached. A process
     * that was stopped by a signal gets SIGSTOP first, which stops it again once let go.
     */
    private void release(List<Tracee> tracees, List<TaskHandle> tasks, boolean stopped) {
        for (int i = tasks.size() - 1; i >= 0; i--) {
            try {
                tasks.get(i).injector().close();
            } catch (IOException e) {
                // The thread's state could not be fully put back; detaching still lets it run.
                System.err.println("amber: warning: pid " + pid + " thread " + tasks.get(i).tid() + ": "
                        + e.getMessage());
            }
        }
        if (stopped) {
            Syscall.raw(Arch.SYS_KILL, pid, 19, 0);
        }
        for (Tracee t : tracees) {
            try {
                t.detach(false);
            } catch (IOException e) {
                t.detachQuietly();
            }
        }
    }
}
