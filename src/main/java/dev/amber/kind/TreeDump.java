package dev.amber.kind;

import dev.amber.sys.Arch;
import dev.amber.sys.Syscall;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * What one checkpoint knows across the processes of the tree: which processes are in it, the
 * open file descriptions already saved (so that a descriptor inherited across fork or passed
 * between processes is saved once and shared again), warnings for the user, and a cache where a
 * kind keeps a table it reads once per checkpoint (the unix socket diagnostics, say).
 *
 * <p>Processes are dumped in {@link #pids()} order, parents before children; a restart restores
 * them in the same order, so "saved earlier" means "restored earlier".
 */
public final class TreeDump {
    private static final int KCMP_FILE = 0;

    private final Set<Integer> pids;
    private final Map<Long, List<FdRef>> descriptionsByInode = new HashMap<>();
    private final Map<Object, Object> cache = new HashMap<>();
    private final List<String> warnings = new ArrayList<>();
    private final List<Supplier<List<Refusal>>> checks = new ArrayList<>();
    private final Options options;

    /**
     * What the user said about the tree on the command line: {@code --shell-job}, the unix socket
     * names of {@code --external-unix}, and the objects of {@code --external-fd} ("pipe:[12345]",
     * "socket:[678]"), saved as external to be supplied at restart.
     */
    public record Options(boolean shellJob, Set<String> externalUnix, Set<String> externalFds) {
        public static final Options DEFAULT = new Options(false, Set.of(), Set.of());

        public Options {
            externalUnix = Set.copyOf(externalUnix);
            externalFds = Set.copyOf(externalFds);
        }
    }

    public TreeDump(List<Integer> pids, Options options) {
        this.pids = Collections.unmodifiableSet(new LinkedHashSet<>(pids));
        this.options = options;
    }

    /** A tree of one process (unit tests, single-process tools). */
    public static TreeDump of(int pid) {
        return new TreeDump(List.of(pid), Options.DEFAULT);
    }

    public Options options() {
        return options;
    }

    /**
     * A check to run once every process is dumped (e.g. whether both ends of a pipe were found);
     * returns what it refuses.
     */
    public void atEnd(Supplier<List<Refusal>> check) {
        checks.add(check);
    }

    /**
     * What a kind holds outside the processes while they are frozen (TCP connections in repair
     * mode, the network lock): put right when the tree is killed or let go.
     */
    public interface Ending {
        /** Just before the tree is killed (--kill), the image being complete. */
        void killing() throws java.io.IOException;

        /** Once the tree is killed. */
        void killed() throws java.io.IOException;

        /**
         * The tree is about to run on: the checkpoint leaves it running, or failed. Called once
         * at most, before the tree is let go.
         */
        void released() throws java.io.IOException;
    }

    private final List<Ending> endings = new ArrayList<>();

    public void onEnd(Ending ending) {
        endings.add(ending);
    }

    /** Runs every {@link Ending#killing}; a failure stops the kill. */
    public void killing() throws java.io.IOException {
        for (Ending e : endings) {
            e.killing();
        }
    }

    /** Runs every {@link Ending#killed}; a failure is a warning, the tree being gone already. */
    public void killed() {
        for (Ending e : endings) {
            try {
                e.killed();
            } catch (java.io.IOException x) {
                warn(x.getMessage());
            }
        }
        endings.clear();
    }

    /** Runs every {@link Ending#released}; a failure is printed, as the tree runs on either way. */
    public void released() {
        for (Ending e : endings) {
            try {
                e.released();
            } catch (java.io.IOException x) {
                System.err.println("amber: warning: " + x.getMessage());
            }
        }
        endings.clear();
    }

    /** Runs the checks registered with {@link #atEnd}. */
    public List<Refusal> finish() {
        List<Refusal> refusals = new ArrayList<>();
        checks.forEach(c -> refusals.addAll(c.get()));
        return refusals;
    }

    /** Every process of the tree, parents before children. */
    public Set<Integer> pids() {
        return pids;
    }

    public boolean contains(int pid) {
        return pids.contains(pid);
    }

    /**
     * The descriptor saved earlier (in this process or an earlier one) whose open file
     * description {@code pid}'s {@code fd} shares, or null: kcmp(KCMP_FILE) answers 0 for the
     * same struct file. Only descriptors on the same inode are asked.
     */
    public FdRef sharedDescription(int pid, int fd, long inode) {
        for (FdRef s : descriptionsByInode.getOrDefault(inode, List.of())) {
            if (Syscall.raw(Arch.SYS_KCMP, s.pid(), pid, KCMP_FILE, s.fd(), fd, 0) == 0) {
                return s;
            }
        }
        return null;
    }

    /** Records that {@code pid}'s {@code fd} is saved with its open file description in full. */
    public void addDescription(int pid, int fd, long inode) {
        descriptionsByInode.computeIfAbsent(inode, k -> new ArrayList<>()).add(new FdRef(pid, fd));
    }

    /** A value computed once per checkpoint, e.g. a table of every unix socket. */
    @SuppressWarnings("unchecked")
    public <T> T cached(Object key, Supplier<T> compute) {
        return (T) cache.computeIfAbsent(key, k -> compute.get());
    }

    /** Something the user should know that does not stop the checkpoint (printed once it is done). */
    public void warn(String message) {
        warnings.add(message);
    }

    public List<String> warnings() {
        return Collections.unmodifiableList(warnings);
    }
}
