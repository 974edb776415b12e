package dev.amber.kind.pipe;

import dev.amber.kind.TreeDump;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/** Which processes outside the tree hold a pipe: one pass over every other process's descriptors. */
final class OutsideHolders {
    private OutsideHolders() {}

    /** For each pipe id held outside the tree: "pid N (comm)" of one holder. */
    static Map<Long, String> find(TreeDump tree, Set<Long> ids) {
        Map<String, Long> names = new HashMap<>();
        ids.forEach(id -> names.put("pipe:[" + id + "]", id));
        Map<Long, String> holders = new HashMap<>();
        long self = ProcessHandle.current().pid();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : (Iterable<Path>) procs::iterator) {
                String name = proc.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit) || tree.contains(Integer.parseInt(name))
                        || Integer.parseInt(name) == self) {
                    continue;
                }
                try (Stream<Path> fds = Files.list(proc.resolve("fd"))) {
                    for (Path fd : (Iterable<Path>) fds::iterator) {
                        Long id = names.get(readLink(fd));
                        if (id != null && !holders.containsKey(id)) {
                            holders.put(id, "pid " + name + " (" + comm(proc) + ")");
                        }
                    }
                } catch (IOException e) {
                    // Ended, or a kernel thread: nothing held.
                }
            }
        } catch (IOException e) {
            // /proc unreadable: nothing found, nothing refused.
        }
        return holders;
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
