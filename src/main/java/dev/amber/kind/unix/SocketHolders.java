package dev.amber.kind.unix;

import dev.amber.kind.FdRef;
import dev.amber.kind.TreeDump;
import dev.amber.proc.Fds;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which processes hold a socket, by its inode: the descriptors of the tree (read once per
 * checkpoint), and for refusals the first process outside it, found by scanning every
 * {@code /proc/PID/fd} for {@code socket:[N]}.
 */
final class SocketHolders {
    private SocketHolders() {}

    /** Socket inode → every descriptor of the tree on it. */
    static Map<Long, List<FdRef>> inTree(TreeDump tree) {
        return tree.cached(SocketHolders.class, () -> {
            Map<Long, List<FdRef>> out = new HashMap<>();
            for (int pid : tree.pids()) {
                try {
                    for (int fd : Fds.list(pid)) {
                        long inode = socketInode(Fds.readLink(pid, fd));
                        if (inode > 0) {
                            out.computeIfAbsent(inode, k -> new ArrayList<>()).add(new FdRef(pid, fd));
                        }
                    }
                } catch (IOException e) {
                    // the process is gone: its descriptors hold nothing any more
                }
            }
            return out;
        });
    }

    static long socketInode(String link) {
        if (link == null || !link.startsWith("socket:[") || !link.endsWith("]")) {
            return -1;
        }
        return Long.parseLong(link.substring("socket:[".length(), link.length() - 1));
    }

    /** A process outside the tree holding a socket. */
    record Holder(int pid, String comm, String fd) {
        @Override
        public String toString() {
            return "pid " + pid + " (" + comm + ") fd " + fd;
        }

        /** Its current directory, for relative socket names. */
        String cwd() {
            try {
                return Files.readSymbolicLink(Path.of("/proc/" + pid + "/cwd")).toString();
            } catch (IOException e) {
                return null;
            }
        }
    }

    /** The first process outside the tree holding the socket, or null. */
    static Holder outside(TreeDump tree, long inode) {
        String wanted = "socket:[" + inode + "]";
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : procs) {
                int pid = Integer.parseInt(p.getFileName().toString());
                if (tree.contains(pid)) {
                    continue;
                }
                try (DirectoryStream<Path> fds = Files.newDirectoryStream(p.resolve("fd"))) {
                    for (Path fd : fds) {
                        if (wanted.equals(Files.readSymbolicLink(fd).toString())) {
                            return new Holder(pid, comm(p), fd.getFileName().toString());
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // gone, or not ours to read
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    private static String comm(Path proc) {
        try {
            return Files.readString(proc.resolve("comm")).strip();
        } catch (IOException e) {
            return "?";
        }
    }
}
