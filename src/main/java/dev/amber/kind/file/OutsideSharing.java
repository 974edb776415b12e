package dev.amber.kind.file;

import dev.amber.kind.DumpContext;
import dev.amber.kind.FdRef;
import dev.amber.kind.Refusal;
import dev.amber.kind.TreeDump;
import dev.amber.sys.Arch;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Open file descriptions of the tree that a process outside it holds too. One that is reopened by
 * path (a file, a directory, a device, a terminal) is the same file again after a restart; any
 * other (a socket, an eventfd, an epoll, a timerfd, a memfd...) would be a new one, cut off from
 * that process: refused, naming it. Found once every process is dumped, with one pass over the
 * descriptors of every other process: those whose link reads the same are asked with kcmp.
 */
final class OutsideSharing {
    private static final int KCMP_FILE = 0;

    /** The tree's descriptions that cannot be reopened by path, by their link text. */
    private final Map<String, List<FdRef>> byLink = new HashMap<>();

    private OutsideSharing() {}

    static void note(DumpContext ctx, int fd, String target) {
        if (target.startsWith("/") || target.startsWith("pipe:")) {
            return;   // reopened by path; pipes have their own check (kind.pipe)
        }
        OutsideSharing s = ctx.tree().cached(OutsideSharing.class, () -> {
            OutsideSharing made = new OutsideSharing();
            ctx.tree().atEnd(() -> made.check(ctx.tree()));
            return made;
        });
        s.byLink.computeIfAbsent(target, k -> new ArrayList<>()).add(new FdRef(ctx.pid(), fd));
    }

    private List<Refusal> check(TreeDump tree) {
        List<Refusal> refusals = new ArrayList<>();
        Set<FdRef> named = new HashSet<>();
        long self = ProcessHandle.current().pid();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : (Iterable<Path>) procs::iterator) {
                String name = proc.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                int pid = Integer.parseInt(name);
                if (tree.contains(pid) || pid == self) {
                    continue;
                }
                try (Stream<Path> fds = Files.list(proc.resolve("fd"))) {
                    for (Path fdPath : (Iterable<Path>) fds::iterator) {
                        List<FdRef> ours = byLink.get(readLink(fdPath));
                        if (ours == null) {
                            continue;
                        }
                        int fd = Integer.parseInt(fdPath.getFileName().toString());
                        for (FdRef r : ours) {
                            if (!named.contains(r)
                                    && Syscall.raw(Arch.SYS_KCMP, pid, r.pid(), KCMP_FILE, fd, r.fd(), 0) == 0) {
                                named.add(r);
                                refusals.add(new Refusal(r.pid(), "fd " + r.fd(), readLinkOf(r),
                                        "its open file is also held by pid " + pid + " (" + comm(proc) + ") fd " + fd
                                                + ", outside the tree: checkpoint the tree of a common ancestor"));
                            }
                        }
                    }
                } catch (IOException | NumberFormatException e) {
                    // Ended, or not ours to read: nothing held.
                }
            }
        } catch (IOException e) {
            // /proc unreadable: nothing found.
        }
        return refusals;
    }

    private String readLinkOf(FdRef r) {
        return byLink.entrySet().stream().filter(e -> e.getValue().contains(r)).map(Map.Entry::getKey).findFirst()
                .orElse("descriptor");
    }

    private static String readLink(Path fd) {
        try {
            return Files.readSymbolicLink(fd).toString();
        } catch (IOException e) {
            return "";
        }
    }

    private static String comm(Path proc) {
        try {
            return Files.readString(proc.resolve("comm")).strip();
        } catch (IOException e) {
            return "?";
        }
    }
}
