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
import dev.amber.kind.TreeRestore;
import dev.amber.image.proto.Vma;
import dev.amber.kind.memory.Inherited;
import dev.amber.kind.memfd.MemfdEarlyKind;
import dev.amber.kind.memory.MemoryKind;
import dev.amber.sys.Arch;
import dev.amber.sys.Syscall;
import dev.amber.trace.Tracee;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Restarts a process tree from an image: validate everything first, then build every puppet at
 * its saved PID ({@link PuppetTree}), restore every kind into each in {@link Kinds} order, set the
 * saved registers and signal masks last, and release them all together. Any failure kills every
 * puppet: a restart either fully succeeds or leaves nothing behind.
 */
public final class Restarter {
    private static final int PR_SET_CHILD_SUBREAPER = 36;
    private final ImageReader image;
    private final boolean frozen;
    private final boolean newPidns;
    private final TreeRestore.Options treeOptions;
    private int hostPid, waitPid;
    private boolean waiting;
    private final List<String> warnings = new ArrayList<>();

    /**
     * What the user chose: {@code frozen} leaves the tree stopped; {@code newPidns} makes it in a
     * new PID namespace under a helper init; {@code tree} is what the kinds are told (--shell-job,
     * and what takes the place of external objects).
     */
    public record Options(boolean frozen, boolean newPidns, TreeRestore.Options tree) {
        public static final Options DEFAULT = new Options(false, false, TreeRestore.Options.DEFAULT);
    }

    public Restarter(ImageReader image, Options options) {
        this.image = image;
        this.frozen = options.frozen();
        this.newPidns = options.newPidns();
        this.treeOptions = options.tree();
    }

    public RestartResult run() throws IOException, ImageException {
        try (Running running = start(false)) {
            return running.result();
        }
    }

    /**
     * A restarted tree whose root's parent, amber restart, stays to wait for it. The kernel makes
     * the thread that created a process its parent, and a parent-death signal comes when that
     * thread ends, not its process (prctl(2)): the root's creator is the tracer thread, so it is
     * kept, and the wait runs on it, until the root ends or amber restart does.
     */
    public static final class Running implements AutoCloseable {
        private final Tracer tracer;
        private final RestartResult result;

        private Running(Tracer tracer, RestartResult result) {
            this.tracer = tracer;
            this.result = result;
        }

        public RestartResult result() {
            return result;
        }

        /** Waits for the restored process to end; returns its exit status, 128+signal if killed. */
        public int waitFor() throws IOException {
            try {
                return tracer.call(() -> Restarter.waitFor(result.waitPid()));
            } catch (IOException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() {
            tracer.close();
        }
    }

    /**
     * Restarts the tree. With {@code waiting}, the caller then waits for it through the result
     * (--wait, --shell-job): the root's parent stays, so its parent-death signal is set again.
     */
    public Running start(boolean waiting) throws IOException, ImageException {
        this.waiting = waiting;
        long t0 = System.nanoTime();
        List<Process> processes = image.processes();
        for (Process p : processes) {
            ImageChecks.check(p, !newPidns);
        }
        ExternalChecks.check(processes, treeOptions);
        new Timing("restart").mark("validated");
        Tracer tracer = new Tracer();
        try (Arena arena = Arena.ofShared()) {
            tracer.call(() -> {
                restore(processes, arena);
                return null;
            });
        } catch (IOException | ImageException | RuntimeException e) {
            tracer.close();
            throw e;
        } catch (Exception e) {
            tracer.close();
            throw new IllegalStateException(e);
        }
        return new Running(tracer, new RestartResult(processes.getFirst().getPid(), hostPid, waitPid,
                System.nanoTime() - t0, List.copyOf(warnings)));
    }

    /**
     * Makes every puppet (with its pid, parent, session and group), restores every process into
     * its puppet in image order (parents first; what a process shares with an earlier one is taken
     * from there), and only then lets them all go. Amber is a child subreaper meanwhile, so that a
     * failure reaps every puppet at once.
     */
    private void restore(List<Process> processes, Arena arena) throws IOException {
        Timing timing = new Timing("restart");
        Set<Integer> pids = new LinkedHashSet<>();
        processes.forEach(p -> pids.add(p.getPid()));
        PageSource pages = pages(arena);
        Syscall.raw(Arch.SYS_PRCTL, PR_SET_CHILD_SUBREAPER, 1, 0);
        boolean succeeded = false;
        try (TreeRestore tree = new TreeRestore(pids, treeOptions).processes(processes)
                .rootParentStays(waiting || newPidns).newPidns(newPidns)) {
            try {
                Map<Integer, RestoreContext> contexts = new HashMap<>();
                PuppetTree.MemoryPhase memory = (process, puppet, from) ->
                        contexts.put(process.getPid(), restoreMemory(process, puppet, from, pages, tree, timing));
                try (PuppetTree puppets = PuppetTree.create(processes, newPidns, tree, memory)) {
                    timing.mark("puppets");
                    List<List<Tracee>> threads = new ArrayList<>();
                    for (Process process : processes) {
                        if (!process.hasZombie()) {
                            threads.add(restoreRest(contexts.get(process.getPid()), puppets.get(process.getPid()),
                                    timing));
                        }
                    }
                    tree.finish();
                    release(processes, puppets, threads);
                    puppets.startInit();
                    puppets.released();
                    tree.released();
                    succeeded = true;
                    hostPid = puppets.get(processes.getFirst().getPid()).pid();
                    waitPid = puppets.init() != null ? puppets.init().pid() : hostPid;
                    timing.mark("release");
                    warnings.addAll(tree.warnings());
                }
            } finally {
                if (!succeeded) {
                    tree.failed();   // the puppets are gone: now what was made for them outside
                }
            }
        } finally {
            Syscall.raw(Arch.SYS_PRCTL, PR_SET_CHILD_SUBREAPER, 0, 0);
        }
    }

    /**
     * Lets every process go. Stopped ones whose parent is in the tree go first: each stops as it
     * is let go, and its parent, still held, is put back as the stop had left it
     * ({@link GroupStop#settle}).
     */
    private void release(List<Process> processes, PuppetTree puppets, List<List<Tracee>> threads) throws IOException {
        Map<Integer, List<Tracee>> byPid = new HashMap<>();
        int i = 0;
        for (Process process : processes) {
            if (!process.hasZombie()) {
                byPid.put(process.getPid(), threads.get(i++));
            }
        }
        Map<Integer, Process> saved = new HashMap<>();
        processes.forEach(p -> saved.put(p.getPid(), p));
        List<Process> order = new ArrayList<>();
        for (Process p : processes.reversed()) {   // children first: a stopped parent is still held for them
            Process parent = saved.get(p.getPpid());
            if (p.getStopped() && !p.hasZombie() && parent != null && !parent.hasZombie()) {
                order.add(p);
            }
        }
        processes.stream().filter(p -> !p.hasZombie() && !order.contains(p)).forEach(order::add);
        for (Process process : order) {
            Puppet puppet = puppets.get(process.getPid());
            int signal = GroupStop.signal(process, puppet.pid(), frozen, warnings);
            puppet.release(byPid.get(process.getPid()), signal);
            Process parent = saved.get(process.getPpid());
            if (process.getStopped() && parent != null && !parent.hasZombie()) {
                GroupStop.settle(puppets.get(parent.getPid()), parent, process, puppet.pid(), signal);
            }
        }
    }

    /** The kinds restored while the tree is being made, up to and including the memory itself. */
    private static final int MEMORY_KINDS = memoryKinds();

    private static int memoryKinds() {
        for (int i = 0; i < Kinds.ALL.size(); i++) {
            if (Kinds.ALL.get(i).name().equals(MemoryKind.NAME)) {
                return i + 1;
            }
        }
        throw new IllegalStateException("no memory kind in Kinds.ALL");
    }

    /**
     * A process's memory, restored as soon as its puppet exists and before the puppet clones its
     * children. A puppet born of its parent's puppet keeps the private mappings the parent has
     * alike ({@link Inherited}): their pages stay shared until one side writes.
     */
    private static RestoreContext restoreMemory(Process process, Puppet puppet, Process from, PageSource pages,
            TreeRestore tree, Timing timing) throws IOException {
        tree.hostPid(process.getPid(), puppet.pid());
        List<Vma> kept = Inherited.kept(process.getMemory(), from == null ? null : from.getMemory());
        if (from != null) {
            tree.inherited(process.getPid(), from.getMemory());
        }
        puppet.amberPidfdAt(dev.amber.kind.SpareFds.amberPidfd(process, MemfdEarlyKind.temporaries(process)));
        puppet.prepare(process.getMemory(), kept);
        RestoreContext ctx = new RestoreContext(puppet.tracee(), puppet.injector(), process, process.getThreads(0),
                pages, tree);
        for (ProcessKind kind : Kinds.ALL.subList(0, MEMORY_KINDS)) {
            kind.restore(ctx);
            timing.mark(kind.name());
        }
        return ctx;
    }

    /** Every other kind, once the whole tree exists; returns the threads, ready to be let go. */
    private static List<Tracee> restoreRest(RestoreContext ctx, Puppet puppet, Timing timing) throws IOException {
        Process process = ctx.process();
        for (ProcessKind kind : Kinds.ALL.subList(MEMORY_KINDS, Kinds.ALL.size())) {
            kind.restore(ctx);
            timing.mark(kind.name());
        }
        puppet.dropAmberPidfd();
        puppet.dropWorkArea();
        for (int i = 0; i < ctx.tasks().size(); i++) {
            Thread saved = process.getThreads(i);
            Injector injector = ctx.tasks().get(i).injector();
            injector.finishWith(Regs.fromBytes(saved.getGpRegs().toByteArray()), saved.getBlocked());
            injector.close();
        }
        return ctx.tasks().stream().map(TaskHandle::tracee).toList();
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
