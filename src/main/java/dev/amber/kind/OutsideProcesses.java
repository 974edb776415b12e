package dev.amber.kind;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Every process outside a tree (and other than Amber), for the checks that name who else holds a
 * resource of the tree: one pass over /proc. A process that ends meanwhile, or cannot be read,
 * is passed over.
 */
public final class OutsideProcesses {
    /** One process outside the tree: its pid and its /proc directory. */
    public interface Visitor {
        void visit(int pid, Path proc) throws IOException;
    }

    private OutsideProcesses() {}

    public static void forEach(TreeDump tree, Visitor visitor) {
        forEach(tree.pids(), visitor);
    }

    /** As above, the tree given as its pids. */
    public static void forEach(java.util.Set<Integer> tree, Visitor visitor) {
        long self = ProcessHandle.current().pid();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : (Iterable<Path>) procs::iterator) {
                String name = proc.getFileName().toString();
                if (name.isEmpty() || !name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                int pid = Integer.parseInt(name);
                if (tree.contains(pid) || pid == self) {
                    continue;
                }
                try {
                    visitor.visit(pid, proc);
                } catch (IOException | RuntimeException e) {
                    // Ended, or a kernel thread, or not readable: nothing to find there.
                }
            }
        } catch (IOException e) {
            // /proc unreadable: nothing found.
        }
    }

    /** Each descriptor of the process: its number and what its link reads. */
    public interface FdVisitor {
        void visit(int fd, String link) throws IOException;
    }

    public static void forEachFd(Path proc, FdVisitor visitor) throws IOException {
        try (Stream<Path> fds = Files.list(proc.resolve("fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                String link;
                try {
                    link = Files.readSymbolicLink(fd).toString();
                } catch (IOException e) {
                    continue;   // closed meanwhile
                }
                visitor.visit(Integer.parseInt(fd.getFileName().toString()), link);
            }
        }
    }

    /** "pid N (comm)", for a refusal. */
    public static String describe(int pid, Path proc) {
        String comm;
        try {
            comm = Files.readString(proc.resolve("comm")).strip();
        } catch (IOException e) {
            comm = "?";
        }
        return "pid " + pid + " (" + comm + ")";
    }
}
