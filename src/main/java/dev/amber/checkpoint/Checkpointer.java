package dev.amber.checkpoint;

import dev.amber.image.ImageException;
import dev.amber.image.ImageWriter;
import dev.amber.image.PageSink;
import dev.amber.image.proto.Inventory;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.Thread;
import dev.amber.kind.DumpContext;
import dev.amber.kind.Kinds;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.memory.MemoryKind;
import dev.amber.kind.memory.PageDumper;
import dev.amber.proc.ProcStat;
import dev.amber.sys.Arch;
import dev.amber.sys.Buffers;
import dev.amber.sys.Ptrace;
import dev.amber.sys.Syscall;
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
    /** Reports page-writing progress: bytes done, bytes in all. */
    public interface Progress {
        void update(long done, long total);
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
        try (Buffers.Mapping buffer = Buffers.populated(PageBudget.estimate(pid))) {
            return checkpoint(t0, buffer);
        }
    }

    private CheckpointResult checkpoint(long t0, Buffers.Mapping buffer) throws Exception {
        Timing timing = new Timing("checkpoint");
        ProcStat stat = ProcStat.read(pid);
        boolean wasStopped = stat.state() == 'T';   // stopped by a signal: it stays stopped
        Tracee tracee = Tracee.seize(pid, 0);
        long frozenAt = System.nanoTime();
        timing.mark("seize");
        long thawedAt = 0;
        boolean released = false;
        ImageWriter writer = null;
        Injector injector = null;
        try {
            injector = new Injector(tracee, Gadget.find(pid));
            Process.Builder process = Process.newBuilder()
                    .setStopped(wasStopped)
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

            writer = destination.open();
            PageDumper pages = new PageDumper(pid, process.getMemory(), buffer.segment());
            long total = pages.totalBytes();
            PageDumper.Progress report = done -> {
                cancellation.check();
                progress.update(done, total);
            };
            try (PageSink sink = writer.openPages(process.getMemory().getPagesFile())) {
                boolean all = pages.capture(report);
                timing.mark("pages captured");
                if (!all) {
                    pages.writeCaptured(sink, report);
                    pages.writeRest(sink, report);
                }
                if (!kill) {
                    injector.close();
                    injector = null;
                    tracee.detach(process.getStopped());
                    released = true;
                    thawedAt = System.nanoTime();
                }
                if (all) {
                    pages.writeCaptured(sink, report);
                }
            }
            timing.mark("pages written");
            long pageBytes = total;
            writer.writeMessage("process-" + pid + ".pb", process.build());
            long imageBytes = writer.finish(Inventory.newBuilder().setRootPid(pid).setToolVersion(toolVersion));
            timing.mark("release and finish");
            destination.verify();   // every checksum, before anything is killed
            timing.mark("verify");
            if (kill) {
                Syscall.check("kill", "pid " + pid, Arch.SYS_KILL, pid, 9, 0);
                Ptrace.waitFor(pid, 0);
                released = true;
                thawedAt = System.nanoTime();
            }
            return new CheckpointResult(pid, thawedAt - frozenAt, System.nanoTime() - t0, pageBytes, imageBytes);
        } finally {
            if (!released) {
                if (injector != null) {
                    try {
                        injector.close();
                    } catch (IOException e) {
                        // The task's state could not be fully put back; detaching still lets it run.
                        System.err.println("amber: warning: pid " + pid + ": " + e.getMessage());
                    }
                }
                tracee.detachQuietly();
            }
            if (writer != null) {
                writer.close();
            }
        }
    }

}
