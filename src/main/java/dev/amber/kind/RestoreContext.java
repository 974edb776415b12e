package dev.amber.kind;

import dev.amber.image.proto.Process;
import dev.amber.image.proto.Thread;
import dev.amber.trace.Injector;
import dev.amber.trace.Tracee;

/**
 * What a kind's restore works with: the puppet (already at the saved PID, seized, every signal
 * held off) and an injector open on it, and the saved records to rebuild. The puppet's final
 * registers and signal mask are set by the restart pipeline after every kind has run.
 */
public final class RestoreContext {
    private final Tracee puppet;
    private final Injector injector;
    private final Process process;
    private final Thread leaderThread;
    private final PageSource pages;
    private final java.util.List<TaskHandle> tasks = new java.util.ArrayList<>();
    private final TreeRestore tree;

    public RestoreContext(Tracee puppet, Injector injector, Process process, Thread leaderThread, PageSource pages) {
        this(puppet, injector, process, leaderThread, pages, TreeRestore.of(process.getPid()));
    }

    /** As above, for one process of a tree: {@code tree} is shared by every process's context. */
    public RestoreContext(Tracee puppet, Injector injector, Process process, Thread leaderThread, PageSource pages,
            TreeRestore tree) {
        this.tree = tree;
        this.puppet = puppet;
        this.injector = injector;
        this.process = process;
        this.leaderThread = leaderThread;
        this.pages = pages;
        this.tasks.add(new TaskHandle(puppet, injector));
    }

    /** The puppet's threads so far, the leader first; in the order of the saved threads. */
    public java.util.List<TaskHandle> tasks() {
        return java.util.Collections.unmodifiableList(tasks);
    }

    /** A thread created for the saved thread at the same index in {@code process().getThreadsList()}. */
    public void addTask(TaskHandle task) {
        tasks.add(task);
    }

    /** The whole tree being restored: what its processes share, made once. */
    public TreeRestore tree() {
        return tree;
    }

    public int pid() {
        return puppet.tid();
    }

    public Tracee puppet() {
        return puppet;
    }

    public Injector injector() {
        return injector;
    }

    public Process process() {
        return process;
    }

    public Thread leaderThread() {
        return leaderThread;
    }

    /** The image's page contents for this process. */
    public PageSource pages() {
        return pages;
    }
}
