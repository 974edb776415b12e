package dev.amber.kind;

import dev.amber.sys.Arch;
import dev.amber.sys.Pidfd;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one restart knows across the processes of the tree. Open file descriptions that several
 * processes share, or whose ends lie in different processes (pipes, socket pairs), are made once:
 * either in the first process that has one (later ones copy it from there), or in Amber itself,
 * which keeps them here until every puppet has taken its copy ({@link #hold}, {@link #pull}).
 * Everything held is closed when the restart ends, whether it succeeded or not.
 */
public final class TreeRestore implements AutoCloseable {
    private static final int AMBER = (int) ProcessHandle.current().pid();

    private final Set<Integer> pids;
    private final Map<Object, Object> held = new HashMap<>();
    private final List<Integer> amberFds = new ArrayList<>();
    private final Options options;

    /**
     * What the user said about the tree at restart: {@code --shell-job} (the job's terminal is the
     * one amber restart runs in, kind.tty), and what takes the place of each object saved as
     * external: a descriptor of amber restart's own by object name ({@code --inherit-fd
     * fd[N]:NAME}), or for a pipe a new one whose other end is closed ({@code --external-closed
     * NAME}, or every external pipe not inherited with {@code allExternalClosed}).
     */
    public record Options(boolean shellJob, Map<String, Integer> inheritFds, Set<String> externalClosed,
            boolean allExternalClosed) {
        public static final Options DEFAULT = new Options(false, Map.of(), Set.of(), false);

        public Options {
            inheritFds = Map.copyOf(inheritFds);
            externalClosed = Set.copyOf(externalClosed);
        }

        /** Whether the external pipe {@code name} comes back with its other end closed. */
        public boolean closed(String name) {
            return !inheritFds.containsKey(name) && (allExternalClosed || externalClosed.contains(name));
        }
    }

    public TreeRestore(Set<Integer> pids, Options options) {
        this.pids = pids;
        this.options = options;
    }

    public static TreeRestore of(int pid) {
        return new TreeRestore(Set.of(pid), Options.DEFAULT);
    }

    public Options options() {
        return options;
    }

    /** restart --shell-job: the job's terminal is the one amber restart runs in (kind.tty). */
    public boolean shellJob() {
        return options.shellJob();
    }

    private boolean rootParentStays;
    private final List<String> warnings = new ArrayList<>();

    /**
     * Whether the root's new parent stays for the root's whole life: amber restart waiting for it
     * (--wait, --shell-job), or the init of its own pid namespace (--new-pidns). Otherwise amber
     * restart, the root's parent, ends as soon as the tree runs.
     */
    public TreeRestore rootParentStays(boolean on) {
        rootParentStays = on;
        return this;
    }

    public boolean rootParentStays() {
        return rootParentStays;
    }

    /** Something the user should know that does not stop the restart (printed once it is done). */
    public void warn(String message) {
        warnings.add(message);
    }

    public List<String> warnings() {
        return java.util.Collections.unmodifiableList(warnings);
    }

    private boolean newPidns;

    /** restart --new-pidns: the tree is in a new pid namespace, with its own /proc at /proc. */
    public TreeRestore newPidns(boolean on) {
        newPidns = on;
        return this;
    }

    public boolean newPidns() {
        return newPidns;
    }

    private final java.util.Map<Integer, Integer> hostPids = new HashMap<>();

    /** Records that saved pid {@code saved} is {@code host} as Amber sees it (they differ with --new-pidns). */
    public void hostPid(int saved, int host) {
        hostPids.put(saved, host);
    }

    /**
     * The pid Amber uses for the process restored at saved pid {@code saved}: for its own calls
     * and for /proc as Amber sees it. Inside the tree (injected calls, the tree's own /proc) the
     * saved pid is the right one.
     */
    public int hostPid(int saved) {
        return hostPids.getOrDefault(saved, saved);
    }

    private final java.util.Map<Integer, dev.amber.image.proto.Memory> inherited = new HashMap<>();

    /**
     * Records that the puppet of saved pid {@code pid} was cloned from a puppet whose memory was
     * already restored to {@code memory} (its parent's): kind.memory keeps what is alike.
     */
    public void inherited(int pid, dev.amber.image.proto.Memory memory) {
        inherited.put(pid, memory);
    }

    /** The saved memory the puppet of {@code pid} was born with, or null when it was born empty. */
    public dev.amber.image.proto.Memory inheritedMemory(int pid) {
        return inherited.get(pid);
    }

    /** Every process of the tree being restored. */
    public Set<Integer> pids() {
        return pids;
    }

    private List<dev.amber.image.proto.Process> processes = List.of();

    /**
     * The saved records of every process of the tree, for an object the tree shares (a deleted
     * file) whose contents are saved once, in whichever record met it first at checkpoint.
     */
    public TreeRestore processes(List<dev.amber.image.proto.Process> saved) {
        processes = List.copyOf(saved);
        return this;
    }

    public List<dev.amber.image.proto.Process> processes() {
        return processes;
    }

    /** Something made once per restart and kept by key (e.g. a pipe's two ends in Amber). */
    public interface Maker<T> {
        T make() throws IOException;
    }

    @SuppressWarnings("unchecked")
    public <T> T hold(Object key, Maker<T> make) throws IOException {
        Object v = held.get(key);
        if (v == null) {
            v = make.make();
            held.put(key, v);
        }
        return (T) v;
    }

    /** Something to do once every process of the tree is restored, before any is let go. */
    public interface Action {
        void run() throws IOException;
    }

    private final List<Action> atEnd = new ArrayList<>();

    public void atEnd(Action action) {
        atEnd.add(action);
    }

    /** Runs the {@link #atEnd} actions, in the order they were given. */
    public void finish() throws IOException {
        for (Action a : atEnd) {
            a.run();
        }
        atEnd.clear();
    }

    private final Map<String, Action> afterRelease = new java.util.LinkedHashMap<>();

    /**
     * Something to do once every process is let go, once per {@code key} however many ask (the
     * network lock of the checkpoint, which every connection of the image names). A failure
     * then is a warning: the tree runs. Returns whether {@code key} is new.
     */
    public boolean afterRelease(String key, Action action) {
        return afterRelease.putIfAbsent(key, action) == null;
    }

    /** Runs the {@link #afterRelease} actions. */
    public void released() {
        for (Action a : afterRelease.values()) {
            try {
                a.run();
            } catch (IOException e) {
                warn(e.getMessage());
            }
        }
        afterRelease.clear();
    }

    private final List<Action> onFailure = new ArrayList<>();

    /**
     * Something to undo if the restart fails: an object made outside the processes (a SysV IPC
     * object, a POSIX message queue) that would otherwise outlive the puppets.
     */
    public void onFailure(Action undo) {
        onFailure.add(undo);
    }

    /** The restart failed: undoes what {@link #onFailure} was given, newest first, as far as it can. */
    public void failed() {
        for (Action a : onFailure.reversed()) {
            try {
                a.run();
            } catch (IOException | RuntimeException e) {
                System.err.println("amber: warning: while undoing a failed restart: " + e.getMessage());
            }
        }
        onFailure.clear();
    }

    /** Registers a descriptor of Amber's own to close when the restart ends; returns it. */
    public int keep(int amberFd) {
        amberFds.add(amberFd);
        return amberFd;
    }

    /**
     * Copies Amber's descriptor {@code amberFd} into the puppet behind {@code inj}; returns the
     * puppet's new descriptor (close-on-exec set, as pidfd_getfd leaves it).
     */
    public static long pullFromAmber(Injector inj, int amberFd) throws IOException {
        Integer pidfd = AMBER_PIDFD.get(inj.tracee().tid());
        if (pidfd == null) {
            return pull(inj, AMBER, amberFd);
        }
        return inj.check("pidfd_getfd(amber, fd " + amberFd + ")", Arch.SYS_PIDFD_GETFD, pidfd, amberFd, 0);
    }

    /**
     * Puppets hold a pidfd of Amber from birth (Amber may not be visible in their pid namespace:
     * restart --new-pidns), at a descriptor number the process does not use (SpareFds): by
     * puppet (its thread id as Amber sees it), while it is being restored.
     */
    private static final Map<Integer, Integer> AMBER_PIDFD = new java.util.concurrent.ConcurrentHashMap<>();

    public static void amberPidfd(int puppet, int fd) {
        AMBER_PIDFD.put(puppet, fd);
    }

    /** Where the puppet keeps its pidfd of Amber, or null once it has none. */
    public static Integer amberPidfd(int puppet) {
        return AMBER_PIDFD.get(puppet);
    }

    public static void forgetAmberPidfd(int puppet) {
        AMBER_PIDFD.remove(puppet);
    }

    /**
     * Copies descriptor {@code fd} of process {@code pid} (a puppet restored earlier, or Amber)
     * into the puppet behind {@code inj}; returns the new descriptor (close-on-exec set). The two
     * share one open file description.
     */
    public static long pull(Injector inj, int pid, int fd) throws IOException {
        long pidfd = inj.check("pidfd_open(" + pid + ")", Arch.SYS_PIDFD_OPEN, pid, 0);
        try {
            return inj.check("pidfd_getfd(pid " + pid + ", fd " + fd + ")", Arch.SYS_PIDFD_GETFD, pidfd, fd, 0);
        } finally {
            inj.call(Arch.SYS_CLOSE, pidfd);
        }
    }

    @Override
    public void close() {
        amberFds.forEach(Pidfd::close);
        amberFds.clear();
        held.clear();
    }
}
