package dev.amber.checkpoint;

import dev.amber.image.ImageException;
import dev.amber.image.ImageWriter;
import dev.amber.image.proto.Inventory;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.Thread;
import dev.amber.image.proto.Zombie;
import dev.amber.kind.DumpContext;
import dev.amber.kind.Kinds;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.Refusal;
import dev.amber.kind.TaskHandle;
import dev.amber.kind.TreeDump;
import dev.amber.kind.memory.MemoryKind;
import dev.amber.proc.ProcStat;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.Ptrace;
import dev.amber.sys.Syscall;
import dev.amber.trace.CpuPin;
import dev.amber.trace.Gadget;
import dev.amber.trace.Injector;
import dev.amber.trace.Timing;
import dev.amber.trace.Tracee;
import dev.amber.trace.Tracer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checkpoints the process tree rooted at a pid: freeze every process ({@link TreeFreezer}),
 * inspect every kind of every process (collecting all refusals), and only if nothing is refused
 * write the pages and the records. The tree is released as soon as its pages are copied, or with
 * {@code kill} ended once the image is complete and verified. On any failure, refusal or
 * cancellation every process is put back exactly as it was and the partial image is removed.
 */
public final class Checkpointer {
    /** Reports progress: the phase, bytes done, bytes in all. May be called from several threads. */
    public interface Progress {
        void update(String phase, long done, long total);
    }

    /**
     * What the user chose: {@code kill} ends the tree once the image is complete and verified;
     * {@code tree} is what the kinds are told (--shell-job, --external-unix, --external-fd).
     */
    public record Options(boolean kill, TreeDump.Options tree) {
        public static final Options DEFAULT = new Options(false, TreeDump.Options.DEFAULT);
    }

    private final int pid;
    private final Destination destination;
    private final boolean kill;
    private final Cancellation cancellation;
    private final Progress progress;
    private final String toolVersion;
    private final TreeDump.Options options;

    /** {@code toolVersion} is recorded in the image's inventory. */
    public Checkpointer(int pid, Destination destination, Options options, Cancellation cancellation,
            Progress progress, String toolVersion) {
        this.pid = pid;
        this.destination = destination;
        this.kill = options.kill();
        this.cancellation = cancellation;
        this.progress = progress;
        this.toolVersion = toolVersion;
        this.options = options.tree();
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

    /** One process of the tree while it is held: its threads, and its record being filled. */
    private record Held(int pid, List<Tracee> tracees, List<TaskHandle> tasks,
            Process.Builder record) {}

    /** The frozen part's outcome: the records, and with --kill the still-held processes. */
    private record Frozen(List<Process> processes, long frozenAt, long thawedAt, List<Held> held, TreeDump tree) {}

    private CheckpointResult checkpoint(long t0) throws Exception {
        Timing timing = new Timing("checkpoint");
        Map<Integer, PageStore> stores = new LinkedHashMap<>();
        try (ImageWriter writer = destination.open()) {
            try {
                for (int p : TreeFreezer.list(pid)) {
                    if (stateOf(p) != 'Z') {   // a zombie has no memory left to save
                        try {
                            stores.put(p, prepare(writer, p));
                        } catch (IOException e) {
                            // Ended or ending since it was listed (smaps_rollup gives ESRCH once
                            // its memory is gone): if it is still there once frozen, it is prepared then.
                            if (!Freezer.exiting(p)) {
                                throw e;
                            }
                        }
                    }
                }
                timing.mark("prepare");
                cancellation.check();   // Ctrl-C while the image space was being reserved: never freeze
                Frozen frozen = freezeAndCapture(writer, stores, timing);
                return finish(writer, stores, frozen, timing, t0);
            } finally {
                stores.values().forEach(PageStore::close);
                Kinds.ALL.forEach(ProcessKind::afterCheckpoint);
            }
        }
    }

    private CheckpointResult finish(ImageWriter writer, Map<Integer, PageStore> stores, Frozen frozen, Timing timing,
            long t0) throws Exception {
        try {
            // A process listed (its page file prepared) that ended or became a zombie before the
            // freeze has no pages in the image: its page file is left empty, as the inventory says.
            java.util.Set<Integer> withPages = new java.util.HashSet<>();
            frozen.processes.stream().filter(p -> !p.hasZombie()).forEach(p -> withPages.add(p.getPid()));
            for (Map.Entry<Integer, PageStore> e : stores.entrySet()) {
                if (!withPages.contains(e.getKey()) && e.getValue() instanceof PageStore.Mapped gone) {
                    gone.complete(done -> { });
                }
            }
            long pageBytes = 0;
            long total = pageBytes(stores, frozen.processes);
            for (Process p : frozen.processes) {
                PageStore store = stores.get(p.getPid());
                if (store != null && !p.hasZombie()) {
                    long base = pageBytes;
                    store.complete(done -> {
                        cancellation.check();
                        progress.update("writing pages", base + done, total);
                    });
                    pageBytes += store.totalBytes();
                }
            }
            timing.mark("pages written");
            for (Process p : frozen.processes) {
                writer.writeMessage("process-" + p.getPid() + ".pb", p);
            }
            long imageBytes = writer.finish(Inventory.newBuilder().setRootPid(pid).setToolVersion(toolVersion));
            timing.mark("finish");
            long thawedAt = frozen.thawedAt;
            if (kill) {
                destination.verify();   // every checksum, before anything is killed
                timing.mark("verify");
                frozen.tree.killing();
                killAll(frozen.held, frozen.processes);
                frozen.tree.killed();
                thawedAt = System.nanoTime();
            }
            return new CheckpointResult(pid, frozen.processes.size(), thawedAt - frozen.frozenAt,
                    System.nanoTime() - t0, pageBytes, imageBytes, frozen.tree.warnings());
        } catch (Exception | Error e) {
            frozen.tree.released();   // before the tree runs: no socket of it left in repair mode
            releaseAll(frozen.held);
            throw e;
        }
    }

    private static long pageBytes(Map<Integer, PageStore> stores, List<Process> processes) {
        long total = 0;
        for (Process p : processes) {
            PageStore s = stores.get(p.getPid());
            total += s == null ? 0 : s.totalBytes();
        }
        return total;
    }

    private PageStore prepare(ImageWriter writer, int p) throws IOException, ImageException {
        long estimate = PageBudget.estimate(p);
        return PageStore.prepare(p, writer, MemoryKind.pagesFile(p), estimate,
                done -> progress.update("reserving image space", done, estimate));
    }

    /**
     * Stops the tree, inspects every kind of every process, and copies the pages; releases the
     * tree (unless it is to be killed) as soon as the copy is done. On refusal, failure or
     * cancellation every process is put back as it was.
     */
    private Frozen freezeAndCapture(ImageWriter writer, Map<Integer, PageStore> stores, Timing timing)
            throws Exception {
        ProcStat rootStat = ProcStat.read(pid);
        CpuPin.follow(pid, rootStat.processor());
        for (ProcessKind kind : Kinds.ALL) {
            kind.beforeFreeze();   // what would otherwise start while the tree is frozen
        }
        Warmup.run(pid);   // the code paths are the same for every process: warming one is enough
        TreeFreezer.Tree tree = TreeFreezer.freeze(pid);
        long frozenAt = System.nanoTime();
        timing.mark("seize");
        List<Held> held = new ArrayList<>();
        TreeDump treeDump = null;
        try {
            for (TreeFreezer.Stopped s : tree.processes()) {
                held.add(hold(s));
            }
            List<Integer> order = new ArrayList<>(held.stream().map(Held::pid).toList());
            tree.zombies().forEach(z -> order.add(z.pid()));
            treeDump = new TreeDump(order, options);
            List<Refusal> refusals = new ArrayList<>();
            for (Held h : held) {
                refusals.addAll(dump(h, treeDump, timing));
            }
            refusals.addAll(treeDump.finish());
            StopCollected.mark(held.stream().map(h -> new StopCollected.Held(h.pid, h.record,
                    h.tasks.getFirst().injector())).toList());
            Map<Integer, Process.Builder> byPid = new LinkedHashMap<>();
            held.forEach(h -> byPid.put(h.pid, h.record));
            refusals.addAll(SharedWithParent.check(byPid));
            if (!refusals.isEmpty()) {
                throw new RefusedException(refusals);
            }
            List<Process.Builder> builders = new ArrayList<>(held.stream().map(Held::record).toList());
            tree.zombies().forEach(z -> builders.add(zombie(z.stat())));
            Leaders.mark(builders);
            List<Process> records = new ArrayList<>();
            long captured = 0;
            for (Held h : held) {
                PageStore store = stores.get(h.pid);
                if (store == null) {   // forked after the listing: prepared while frozen, only slower
                    store = prepare(writer, h.pid);
                    stores.put(h.pid, store);
                }
                long base = captured;
                store.capture(h.record.getMemory(), done -> {
                    cancellation.check();
                    progress.update("copying pages", base + done, base + done);
                });
                captured += store.totalBytes();
                records.add(h.record.build());
            }
            builders.subList(held.size(), builders.size()).forEach(z -> records.add(z.build()));
            timing.mark("pages captured");
            if (kill) {
                return new Frozen(records, frozenAt, 0, held, treeDump);
            }
            treeDump.released();
            releaseAll(held);
            return new Frozen(records, frozenAt, System.nanoTime(), new ArrayList<>(), treeDump);
        } catch (Exception | Error e) {
            // Processes not yet wrapped in a Held (a failure while taking hold) are let go as they are.
            for (TreeFreezer.Stopped s : tree.processes()) {
                if (held.stream().noneMatch(h -> h.pid == s.pid())) {
                    s.threads().forEach(Tracee::detachQuietly);
                }
            }
            if (treeDump != null) {
                treeDump.released();
            }
            releaseAll(held);
            throw e;
        }
    }

    private static char stateOf(int p) {
        try {
            return ProcStat.read(p).state();
        } catch (IOException e) {
            return '?';
        }
    }

    /** Opens an injector on every thread of a stopped process (they share the leader's scratch area). */
    private static Held hold(TreeFreezer.Stopped s) throws IOException {
        // Stopped by a signal (state T): the seize's trap names the signal, and it stays stopped.
        int stopSignal = s.threads().getFirst().groupStopSignal();
        boolean stopped = stopSignal != 0;
        List<TaskHandle> tasks = new ArrayList<>();
        long gadget = Gadget.find(s.pid());
        for (Tracee t : s.threads()) {
            Injector injector = new Injector(t, gadget);
            if (!tasks.isEmpty()) {
                injector.useScratch(tasks.getFirst().injector().scratch());
            }
            tasks.add(new TaskHandle(t, injector));
        }
        ProcStat stat = ProcStat.read(s.pid());
        Process.Builder record = Process.newBuilder().setStopped(stopped).setStopSignal(stopSignal)
                .setPid(s.pid()).setPpid(stat.ppid())
                .setPgid(stat.pgrp()).setSid(stat.session()).setComm(stat.comm()).setExitSignal(stat.exitSignal());
        return new Held(s.pid(), s.threads(), tasks, record);
    }

    /** Runs every kind's dump on one process; returns what it refused. */
    private List<Refusal> dump(Held h, TreeDump tree, Timing timing) throws Exception {
        List<Thread.Builder> threads = h.tasks.stream().map(t -> Thread.newBuilder().setTid(t.tid())).toList();
        DumpContext ctx = new DumpContext(h.pid, h.tasks, h.record, threads, h.tasks.getFirst().injector().scratch(),
                tree);
        for (ProcessKind kind : Kinds.ALL) {
            kind.dump(ctx);
            cancellation.check();
            timing.mark(kind.name());
        }
        threads.forEach(h.record::addThreads);
        return ctx.refusals();
    }

    private static Process.Builder zombie(ProcStat stat) {
        return Process.newBuilder().setPid(stat.pid()).setPpid(stat.ppid()).setPgid(stat.pgrp())
                .setSid(stat.session()).setComm(stat.comm()).setExitSignal(stat.exitSignal())
                .setZombie(Zombie.newBuilder().setExitStatus(stat.exitCode()));
    }

    /**
     * With --kill, once the image is verified: SIGKILL to every process, children before their
     * parents; the tracer reaps every traced thread's exit (the kernel holds a leader back until its
     * other threads are reaped, so those first), and a parent in the tree, still frozen, reaps its
     * killed child and its zombies with an injected wait4. Left to die with their parent, they
     * would go to pid 1 as zombies, and their pids, which a restart needs, would stay taken until
     * it reaps them (a second or two on some systems). Only the root then waits for its parent.
     */
    private static void killAll(List<Held> held, List<Process> processes) throws IOException {
        Map<Integer, Held> byPid = new HashMap<>();
        held.forEach(h -> byPid.put(h.pid, h));
        for (Process p : processes) {
            if (p.hasZombie() && byPid.containsKey(p.getPpid())) {
                reapIn(byPid.get(p.getPpid()), p.getPid());
            }
        }
        for (Held h : held.reversed()) {
            Syscall.check("kill", "pid " + h.pid, Arch.SYS_KILL, h.pid, 9, 0);
            for (int i = h.tasks.size() - 1; i >= 0; i--) {
                try {
                    Ptrace.waitFor(h.tasks.get(i).tid(), 0);
                } catch (ErrnoException e) {
                    // Already reaped (ECHILD): nothing left to wait for.
                }
            }
            Held parent = byPid.get(h.record.getPpid());
            if (parent != null && parent != h) {
                reapIn(parent, h.pid);
            }
        }
    }

    /** wait4(pid) injected into frozen {@code parent}; a failure (SIGCHLD ignored: reaped already) is no matter. */
    private static void reapIn(Held parent, int pid) {
        try {
            parent.tasks.getFirst().injector().call(Arch.SYS_WAIT4, pid, 0, 0x40000000, 0);   // __WALL
        } catch (IOException | RuntimeException e) {
            // The parent dies next; pid 1 reaps the child then.
        }
    }

    private static void releaseAll(List<Held> held) {
        for (Held h : held.reversed()) {
            release(h);
        }
        held.clear();
    }

    /**
     * Puts every thread back as it was and lets the process go: injectors closed, the leader's
     * last (it owns the scratch mapping the others share), then every thread detached. A process
     * that was stopped by a signal needs nothing more: its group-stop is still in effect (the
     * injected calls ran from ptrace-stops, which leave SIGNAL_STOP_STOPPED and the stop signal
     * its parent's wait reports alone), and PTRACE_DETACH puts every thread back in it
     * (kernel/ptrace.c __ptrace_unlink), with no new notification to the parent.
     */
    private static void release(Held h) {
        for (int i = h.tasks.size() - 1; i >= 0; i--) {
            try {
                h.tasks.get(i).injector().close();
            } catch (IOException e) {
                // The thread's state could not be fully put back; detaching still lets it run.
                System.err.println("amber: warning: pid " + h.pid + " thread " + h.tasks.get(i).tid() + ": "
                        + e.getMessage());
            }
        }
        for (Tracee t : h.tracees) {
            try {
                t.detach(false);
            } catch (IOException e) {
                t.detachQuietly();
            }
        }
    }
}
