package dev.amber.checkpoint;

import dev.amber.proc.ProcStat;
import dev.amber.proc.Tasks;
import dev.amber.sys.Errno;
import dev.amber.sys.ErrnoException;
import dev.amber.trace.Tracee;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stops a whole process tree: every thread of the root, then every child of every stopped thread
 * (from {@code /proc/PID/task/TID/children}), then theirs, until a pass over the whole tree finds
 * no process not yet stopped. A process stopped cannot fork, so once a pass finds nothing new the
 * tree is complete; a child forked while its parent was being stopped is found by the next pass.
 * Zombies (exited, not yet reaped) cannot be stopped and need not be: they are listed as such.
 */
final class TreeFreezer {
    private TreeFreezer() {}

    /** One stopped process: its threads, the leader first. */
    record Stopped(int pid, int ppid, List<Tracee> threads) {}

    /** A child that has exited and waits to be reaped. */
    record Zombie(int pid, ProcStat stat) {}

    /** The tree, parents before children (breadth first from the root). */
    record Tree(List<Stopped> processes, List<Zombie> zombies) {
        /** Every thread of every process. */
        List<Tracee> allThreads() {
            return processes.stream().flatMap(p -> p.threads().stream()).toList();
        }
    }

    /** Every process of the tree rooted at {@code root}, stopped. On failure, none stays seized. */
    static Tree freeze(int root) throws IOException {
        Map<Integer, Stopped> stopped = new LinkedHashMap<>();
        Map<Integer, Zombie> zombies = new LinkedHashMap<>();
        try {
            stopped.put(root, new Stopped(root, 0, Freezer.freeze(root)));
            long deadline = System.nanoTime() + EXIT_WAIT_NANOS;
            for (boolean again = true; again; ) {
                again = false;
                for (Stopped p : new ArrayList<>(stopped.values())) {
                    for (Tracee t : p.threads()) {
                        for (int child : childrenOf(p.pid(), t.tid())) {
                            if (stopped.containsKey(child) || zombies.containsKey(child)) {
                                continue;
                            }
                            Added a = add(p.pid(), child, stopped, zombies);
                            // A child caught in the middle of exiting is a zombie a moment later:
                            // its parent may be waiting for it, so look again until it is one.
                            again |= a != Added.GONE;
                            if (a == Added.EXITING && System.nanoTime() > deadline) {
                                throw new IOException("pid " + child + " (child of pid " + p.pid()
                                        + ") has been exiting for over 2 s: checkpoint again once it has");
                            }
                        }
                    }
                }
            }
            return new Tree(new ArrayList<>(stopped.values()), new ArrayList<>(zombies.values()));
        } catch (IOException | RuntimeException e) {
            stopped.values().forEach(p -> p.threads().forEach(Tracee::detachQuietly));
            throw e;
        }
    }

    private static final long EXIT_WAIT_NANOS = 2_000_000_000L;

    /** What became of a child: stopped or listed as a zombie, on its way out, or gone (reaped). */
    private enum Added { ADDED, EXITING, GONE }

    /** Stops {@code child}, or lists it as a zombie. */
    private static Added add(int parent, int child, Map<Integer, Stopped> stopped, Map<Integer, Zombie> zombies)
            throws IOException {
        ProcStat stat;
        try {
            stat = ProcStat.read(child);
        } catch (NoSuchFileException e) {
            return Added.GONE;
        }
        if (stat.state() == 'Z') {
            zombies.put(child, new Zombie(child, stat));
            return Added.ADDED;
        }
        try {
            stopped.put(child, new Stopped(child, parent, Freezer.freeze(child)));
            return Added.ADDED;
        } catch (ErrnoException e) {
            // Exited between the listing and the seize (ESRCH; EPERM once it is exiting).
            if (e.errno() == Errno.ESRCH || e.errno() == Errno.EPERM && Freezer.exiting(child)) {
                return exists(child) ? Added.EXITING : Added.GONE;
            }
            throw e;
        } catch (dev.amber.trace.TraceeGoneException e) {
            return exists(child) ? Added.EXITING : Added.GONE;
        }
    }

    private static boolean exists(int pid) {
        return java.nio.file.Files.exists(java.nio.file.Path.of("/proc/" + pid));
    }

    private static int[] childrenOf(int pid, int tid) throws IOException {
        try {
            return Tasks.children(pid, tid);
        } catch (NoSuchFileException e) {
            return new int[0];
        }
    }

    /** The tree as it is now, without stopping anything: to prepare before freezing. */
    static List<Integer> list(int root) {
        List<Integer> pids = new ArrayList<>();
        pids.add(root);
        for (int i = 0; i < pids.size(); i++) {
            int pid = pids.get(i);
            try {
                for (int tid : Tasks.list(pid)) {
                    for (int child : Tasks.children(pid, tid)) {
                        if (!pids.contains(child)) {
                            pids.add(child);
                        }
                    }
                }
            } catch (IOException e) {
                // Gone already: the freeze will see.
            }
        }
        return pids;
    }
}
