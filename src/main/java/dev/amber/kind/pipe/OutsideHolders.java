package dev.amber.kind.pipe;

import dev.amber.kind.OutsideProcesses;
import dev.amber.kind.TreeDump;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/** Which processes outside the tree hold a pipe: one pass over every other process's descriptors. */
final class OutsideHolders {
    private OutsideHolders() {}

    /**
     * For each pipe id held outside the tree: "pid N (comm)" of one holder. A pipe's link reads
     * {@code pipe:[ID]}; {@code otherLinks} adds links that name one otherwise (a deleted FIFO).
     */
    static Map<Long, String> find(TreeDump tree, Set<Long> ids, Map<String, Long> otherLinks) {
        Map<String, Long> names = new HashMap<>();
        ids.forEach(id -> names.put("pipe:[" + id + "]", id));
        otherLinks.forEach((link, id) -> {
            if (ids.contains(id)) {
                names.put(link, id);
            }
        });
        Map<Long, String> holders = new HashMap<>();
        OutsideProcesses.forEach(tree, (pid, proc) -> OutsideProcesses.forEachFd(proc, (fd, link) -> {
            Long id = names.get(link);
            if (id != null && !holders.containsKey(id)) {
                holders.put(id, OutsideProcesses.describe(pid, proc));
            }
        }));
        return holders;
    }
}
