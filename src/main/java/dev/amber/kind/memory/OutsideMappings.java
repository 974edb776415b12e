package dev.amber.kind.memory;

import dev.amber.kind.Refusal;
import dev.amber.kind.TreeDump;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Shared anonymous memory of the tree that a process outside it maps too: after a restart the
 * tree's would be a new object, cut off from that process, so it is refused, naming it. One pass
 * over the maps of every other process, looking for the same shmem inode.
 */
final class OutsideMappings {
    private OutsideMappings() {}

    static List<Refusal> check(TreeDump tree, Map<Long, MemoryKind.FirstMapping> shared) {
        List<Refusal> refusals = new ArrayList<>();
        if (shared.isEmpty()) {
            return refusals;
        }
        long self = ProcessHandle.current().pid();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : (Iterable<Path>) procs::iterator) {
                String name = proc.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit) || tree.contains(Integer.parseInt(name))
                        || Integer.parseInt(name) == self) {
                    continue;
                }
                try {
                    for (String line : Files.readAllLines(proc.resolve("maps"))) {
                        if (!line.endsWith("/dev/zero (deleted)") && !line.contains("[anon_shmem")) {
                            continue;
                        }
                        String[] f = line.trim().split("\\s+");
                        MemoryKind.FirstMapping m = f.length > 4 ? shared.remove(Long.parseLong(f[4])) : null;
                        if (m != null) {
                            refusals.add(new Refusal(m.pid(), String.format("address 0x%x", m.start()),
                                    "shared anonymous memory", "also mapped by pid " + name + " (" + comm(proc)
                                            + "), outside the tree: checkpoint the tree of a common ancestor"));
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // Ended, or a kernel thread.
                }
            }
        } catch (IOException e) {
            // /proc unreadable: nothing found.
        }
        return refusals;
    }

    private static String comm(Path proc) {
        try {
            return Files.readString(proc.resolve("comm")).strip();
        } catch (IOException e) {
            return "?";
        }
    }
}
