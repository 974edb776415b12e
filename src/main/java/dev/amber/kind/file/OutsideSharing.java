package dev.amber.kind.file;

import dev.amber.kind.DumpContext;
import dev.amber.kind.FdRef;
import dev.amber.kind.OutsideProcesses;
import dev.amber.kind.Refusal;
import dev.amber.kind.TreeDump;
import dev.amber.sys.Arch;
import dev.amber.sys.Syscall;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Open file descriptions of the tree that a process outside it holds too. One that is reopened by
 * path (a file, a directory, a device, a terminal) is the same file again after a restart; any
 * other (a socket, an eventfd, an epoll, a timerfd, a memfd, a deleted file...) would be a new
 * one, cut off from that process: refused, naming it. Found once every process is dumped, with one pass over the
 * descriptors of every other process: those whose link reads the same are asked with kcmp.
 */
final class OutsideSharing {
    private static final int KCMP_FILE = 0;

    /** The tree's descriptions that cannot be reopened by path, by their link text. */
    private final Map<String, List<FdRef>> byLink = new HashMap<>();

    private OutsideSharing() {}

    static void note(DumpContext ctx, int fd, String target) {
        boolean byPath = target.startsWith("/") && !target.startsWith("/memfd:") && !target.endsWith(" (deleted)");
        if (byPath || target.startsWith("pipe:")) {
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
        OutsideProcesses.forEach(tree, (pid, proc) -> OutsideProcesses.forEachFd(proc, (fd, link) -> {
            for (FdRef r : byLink.getOrDefault(link, List.of())) {
                if (!named.contains(r) && Syscall.raw(Arch.SYS_KCMP, pid, r.pid(), KCMP_FILE, fd, r.fd(), 0) == 0) {
                    named.add(r);
                    refusals.add(new Refusal(r.pid(), "fd " + r.fd(), link, "its open file is also held by "
                            + OutsideProcesses.describe(pid, proc) + " fd " + fd
                            + ", outside the tree: checkpoint the tree of a common ancestor"));
                }
            }
        }));
        return refusals;
    }
}
