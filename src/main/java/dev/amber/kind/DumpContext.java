package dev.amber.kind;

import dev.amber.image.proto.Process;
import dev.amber.image.proto.Thread;
import dev.amber.trace.Injector;
import dev.amber.trace.Tracee;
import java.util.ArrayList;
import java.util.List;

/**
 * What a kind's dump works with for one stopped process: the process, its leader thread seized
 * and an injector open on it (calls run inside the process; every signal is held off while it
 * is open), the image records being filled, and the refusals found so far.
 */
public final class DumpContext {
    private final int pid;
    private final Tracee leader;
    private final Injector injector;
    private final Process.Builder process;
    private final Thread.Builder leaderThread;
    private final List<Refusal> refusals = new ArrayList<>();
    private final List<TaskHandle> tasks;
    private final List<Thread.Builder> threads;
    private final long scratch;
    private final TreeDump tree;

    /**
     * {@code tasks} are every thread of the process, the leader first, and {@code threads} their
     * records in the same order; {@code scratch} is the start of Amber's scratch mapping in the
     * process (not part of what is saved).
     */
    public DumpContext(int pid, List<TaskHandle> tasks, Process.Builder process, List<Thread.Builder> threads,
            long scratch) {
        this(pid, tasks, process, threads, scratch, TreeDump.of(pid));
    }

    /** As above, for one process of a tree: {@code tree} is shared by every process's context. */
    public DumpContext(int pid, List<TaskHandle> tasks, Process.Builder process, List<Thread.Builder> threads,
            long scratch, TreeDump tree) {
        this.tree = tree;
        this.pid = pid;
        this.leader = tasks.getFirst().tracee();
        this.injector = tasks.getFirst().injector();
        this.process = process;
        this.leaderThread = threads.getFirst();
        this.tasks = List.copyOf(tasks);
        this.threads = List.copyOf(threads);
        this.scratch = scratch;
    }

    /** Every thread, the leader first. */
    public List<TaskHandle> tasks() {
        return tasks;
    }

    /** The record of each thread, in the order of {@link #tasks()}. */
    public List<Thread.Builder> threads() {
        return threads;
    }

    /** Where Amber's own scratch mapping lies in the process: never saved. */
    public long scratch() {
        return scratch;
    }

    /** The whole tree being checkpointed: its processes and what they share. */
    public TreeDump tree() {
        return tree;
    }

    public int pid() {
        return pid;
    }

    public Tracee leader() {
        return leader;
    }

    public Injector injector() {
        return injector;
    }

    public Process.Builder process() {
        return process;
    }

    /** The thread-group leader's record (single-threaded processes: the only thread). */
    public Thread.Builder leaderThread() {
        return leaderThread;
    }

    public void refuse(String where, String kind, String reason) {
        refusals.add(new Refusal(pid, where, kind, reason));
    }

    public List<Refusal> refusals() {
        return refusals;
    }
}
