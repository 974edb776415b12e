package dev.amber.kind.memory;

import dev.amber.kind.OutsideProcesses;
import dev.amber.kind.Refusal;
import dev.amber.kind.TreeDump;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Shared anonymous memory of the tree that a process outside it maps too: after a restart the
 * tree's would be a new object, cut off from that process, so it is refused, naming it. One pass
 * over the maps of every other process, looking for the same shmem inode (or deleted file).
 */
final class OutsideMappings {
    private OutsideMappings() {}

    static List<Refusal> check(TreeDump tree, Map<Long, MemoryKind.FirstMapping> shared) {
        List<Refusal> refusals = new ArrayList<>();
        if (shared.isEmpty()) {
            return refusals;
        }
        OutsideProcesses.forEach(tree, (pid, proc) -> {
            for (String line : Files.readAllLines(proc.resolve("maps"))) {
                if (!line.endsWith("/dev/zero (deleted)") && !line.contains("[anon_shmem")) {
                    continue;
                }
                String[] f = line.trim().split("\\s+");
                MemoryKind.FirstMapping m = f.length > 4 ? shared.remove(Long.parseLong(f[4])) : null;
                if (m != null) {
                    refusals.add(new Refusal(m.pid(), String.format("address 0x%x", m.start()),
                            "shared anonymous memory", "also mapped by " + OutsideProcesses.describe(pid, proc)
                                    + ", outside the tree: checkpoint the tree of a common ancestor"));
                }
            }
        });
        return refusals;
    }

    /**
     * Deleted files the tree maps shared ({@code "MAJ:MIN INODE"} as maps prints them, to their
     * first mapping and name) that a process outside maps too: after a restart the tree's would
     * be a new file, cut off from that process.
     */
    static List<Refusal> checkDeleted(TreeDump tree, Map<String, MemoryKind.FirstMapping> shared, Map<String, String> names) {
        List<Refusal> refusals = new ArrayList<>();
        if (shared.isEmpty()) {
            return refusals;
        }
        OutsideProcesses.forEach(tree, (pid, proc) -> {
            for (String line : Files.readAllLines(proc.resolve("maps"))) {
                if (!line.endsWith(" (deleted)")) {
                    continue;
                }
                String[] f = line.trim().split("\\s+");
                String key = f.length > 5 ? f[3] + " " + f[4] : "";
                MemoryKind.FirstMapping m = shared.remove(key);
                if (m != null) {
                    refusals.add(new Refusal(m.pid(), String.format("address 0x%x", m.start()),
                            "shared mapping of deleted file " + names.get(key), "also mapped by "
                                    + OutsideProcesses.describe(pid, proc)
                                    + ", outside the tree: checkpoint the tree of a common ancestor"));
                }
            }
        });
        return refusals;
    }
}
