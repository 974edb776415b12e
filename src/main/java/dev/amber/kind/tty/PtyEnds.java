package dev.amber.kind.tty;

import dev.amber.kind.FdRef;
import dev.amber.kind.TreeDump;
import dev.amber.proc.FdInfo;
import dev.amber.proc.Fds;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the ends of every pseudo-terminal of the tree are: for each index, the descriptor that
 * holds its master (fdinfo {@code tty-index}, Linux 4.13 onwards) and those that hold its slave
 * ({@code /dev/pts/N}). Read once per checkpoint, from every process of the tree.
 */
record PtyEnds(Map<Integer, FdRef> masters, Map<Integer, List<FdRef>> slaves) {
    private static final Object KEY = new Object();

    static PtyEnds of(TreeDump tree) {
        return tree.cached(KEY, () -> {
            try {
                return scan(tree);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static PtyEnds scan(TreeDump tree) throws IOException {
        Map<Integer, FdRef> masters = new HashMap<>();
        Map<Integer, List<FdRef>> slaves = new HashMap<>();
        for (int pid : tree.pids()) {
            for (int fd : Fds.list(pid)) {
                String target;
                try {
                    target = Fds.readLink(pid, fd);
                } catch (IOException e) {
                    continue;   // closed meanwhile (a process not yet frozen)
                }
                if (isMaster(target)) {
                    int index = masterIndex(FdInfo.read(pid, fd));
                    if (index >= 0) {
                        masters.putIfAbsent(index, new FdRef(pid, fd));
                    }
                } else if (slaveIndex(target) >= 0) {
                    slaves.computeIfAbsent(slaveIndex(target), k -> new ArrayList<>()).add(new FdRef(pid, fd));
                }
            }
        }
        return new PtyEnds(masters, slaves);
    }

    static boolean isMaster(String target) {
        return target.equals("/dev/ptmx") || target.equals("/dev/pts/ptmx");
    }

    /** N of {@code /dev/pts/N}, or -1. */
    static int slaveIndex(String target) {
        if (!target.startsWith("/dev/pts/")) {
            return -1;
        }
        String n = target.substring("/dev/pts/".length());
        if (n.isEmpty() || n.length() > 9 || !n.chars().allMatch(Character::isDigit)) {
            return -1;
        }
        return Integer.parseInt(n);
    }

    /** fdinfo {@code tty-index} of a master, or -1 on a kernel that does not print it. */
    static int masterIndex(FdInfo info) {
        List<String> v = info.values("tty-index");
        return v.size() == 1 ? Integer.parseInt(v.getFirst().trim()) : -1;
    }
}
