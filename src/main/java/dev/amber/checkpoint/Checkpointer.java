package dev.amber.checkpoint;

import dev.amber.image.ImageException;
import dev.amber.image.ImageWriter;
import dev.amber.image.proto.Inventory;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.Thread;
import dev.amber.kind.DumpContext;
import dev.amber.kind.Kinds;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.memory.MemoryKind;
import dev.amber.proc.ProcStat;
import dev.amber.sys.Arch;
import dev.amber.sys.Ptrace;
import dev.amber.sys.Syscall;
import dev.amber.trace.CpuPin;
import dev.amber.trace.Gadget;
import dev.amber.trace.Injector;
import dev.amber.trace.Tracee;
import dev.amber.trace.Timing;
import dev.amber.trace.Tracer;
import java.io.IOException;

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
                    Ptrace.waitFor(pid, 0);
                    thawedAt = System.nanoTime();
                }
                return new CheckpointResult(pid, thawedAt - frozen.frozenAt, System.nanoTime() - t0,
                        store.totalBytes(), imageBytes);
            } catch (Exception | Error e) {
                if (frozen.tracee != null) {
                    release(frozen.tracee, frozen.injector, frozen.process.getStopped());
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

    /** The frozen part's outcome: the record, and with --kill the still-seized process. */
    private record Frozen(Process process, long frozenAt, long thawedAt, Tracee tracee, Injector injector) {}

    /**
     * Seizes the process, inspects every kind, and copies its pages; releases it (unless it is to
     * be killed) as soon as the copy is done. On refusal, failure or cancellation the process is
     * put back as it was.
     */
    private Frozen freezeAndCapture(PageStore store, Timing timing) throws Exception {
        ProcStat stat = ProcStat.read(pid);
        boolean wasStopped = stat.state() == 'T';   // stopped by a signal: it stays stopped
        CpuPin.follow(pid, stat.processor());
        Warmup.run(pid);
        Tracee tracee = Tracee.seize(pid, 0);
        long frozenAt = System.nanoTime();
        timing.mark("seize");
        Injector injector = null;
        try {
            injector = new Injector(tracee, Gadget.find(pid));
            Process.Builder process = Process.newBuilder().setStopped(wasStopped)
                    .setPid(pid).setPpid(stat.ppid()).setPgid(stat.pgrp()).setSid(stat.session()).setComm(stat.comm());
            Thread.Builder leader = Thread.newBuilder().setTid(pid);
            DumpContext ctx = new DumpContext(pid, tracee, injector, process, leader);
            for (ProcessKind kind : Kinds.ALL) {
                kind.dump(ctx);
                cancellation.check();
                timing.mark(kind.name());
            }
            if (!ctx.refusals().isEmpty()) {
                throw new RefusedException(ctx.refusals());
            }
            process.addThreads(leader);
            store.capture(process.getMemory(), done -> {
                cancellation.check();
                progress.update("copying pages", done, store.totalBytes());
            });
            timing.mark("pages captured");
            if (kill) {
                return new Frozen(process.build(), frozenAt, 0, tracee, injector);
            }
            release(tracee, injector, wasStopped);
            return new Frozen(process.build(), frozenAt, System.nanoTime(), null, null);
        } catch (Exception | Error e) {
            release(tracee, injector, wasStopped);
            throw e;
        }
    }

    /** Puts the process back as it was and lets it go (stopped again if it was stopped). */
    private void release(Tracee tracee, Injector injector, boolean stopped) {
        if (injector != null) {
            try {
                injector.close();
            } catch (IOException e) {
                // The task's state could not be fully put back; detaching still lets it run.
                System.err.println("amber: warning: pid " + pid + ": " + e.getMessage());
            }
        }
        try {
            tracee.detach(stopped);
        } catch (IOException e) {
            tracee.detachQuietly();
        }
    }
}
