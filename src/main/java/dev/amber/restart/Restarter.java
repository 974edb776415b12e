package dev.amber.restart;

import dev.amber.image.ImageException;
import dev.amber.image.ImageReader;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.Thread;
import dev.amber.kind.Kinds;
import dev.amber.kind.PageSource;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TaskHandle;
import dev.amber.trace.Injector;
import dev.amber.sys.Ptrace;
import dev.amber.trace.Regs;
import dev.amber.trace.Timing;
import dev.amber.trace.Tracer;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/**
 * Restarts a process from an image: validate everything first, then build the puppet at the
 * saved PID, restore every kind into it in {@link Kinds} order, set the saved registers and
 * signal mask last, and release it. Any failure kills the puppet: a restart either fully
 * succeeds or leaves nothing behind.
 */
public final class Restarter {
    private final ImageReader image;
    private final boolean frozen;

    public Restarter(ImageReader image, boolean frozen) {
        this.image = image;
        this.frozen = frozen;
    }

    public RestartResult run() throws IOException, ImageException {
        long t0 = System.nanoTime();
        var processes = image.processes();
        if (processes.size() != 1) {
            throw new ImageException("image holds " + processes.size() + " processes; this amber restarts one");
        }
        Process process = processes.get(0);
        ImageChecks.check(process);
        new Timing("restart").mark("validated");
        try (Tracer tracer = new Tracer(); Arena arena = Arena.ofShared()) {
            tracer.call(() -> {
                restore(process, arena);
                return null;
            });
        } catch (IOException | ImageException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return new RestartResult(process.getPid(), System.nanoTime() - t0);
    }

    private void restore(Process process, Arena arena) throws IOException {
        Thread leader = process.getThreads(0);
        Timing timing = new Timing("restart");
        try (Puppet puppet = Puppet.create(process.getPid())) {
            timing.mark("puppet");
            puppet.prepare(process.getMemory());
            timing.mark("prepare");
            RestoreContext ctx = new RestoreContext(puppet.tracee(), puppet.injector(), process, leader,
                    pages(arena));
            for (ProcessKind kind : Kinds.ALL) {
                kind.restore(ctx);
                timing.mark(kind.name());
            }
            puppet.dropWorkArea();
            for (int i = 0; i < ctx.tasks().size(); i++) {
                Thread saved = process.getThreads(i);
                Injector injector = ctx.tasks().get(i).injector();
                injector.finishWith(Regs.fromBytes(saved.getGpRegs().toByteArray()), saved.getBlocked());
                injector.close();
            }
            puppet.release(ctx.tasks().stream().map(TaskHandle::tracee).toList(), frozen || process.getStopped());
            timing.mark("release");
        }
    }

    /** Page files mapped once each, read-only, straight from the page cache. */
    private PageSource pages(Arena arena) {
        Map<String, MemorySegment> mapped = new HashMap<>();
        return new PageSource() {
            @Override
            public MemorySegment slice(String file, long offset, long length) throws IOException {
                MemorySegment m = mapped.get(file);
                if (m == null) {
                    try {
                        m = image.map(file, arena);
                    } catch (ImageException e) {
                        throw new IOException(e.getMessage(), e);
                    }
                    mapped.put(file, m);
                }
                return m.asSlice(offset, length);
            }
        };
    }

    /** Waits for the restored process (Amber's child) to end; returns its exit status, 128+signal if killed. */
    public static int waitFor(int pid) throws IOException {
        int status = Ptrace.waitFor(pid, 0);
        return Ptrace.exited(status) ? Ptrace.exitCode(status) : 128 + Ptrace.termSig(status);
    }
}
