package dev.amber.kind.ns;

import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Namespaces. A process restarts in Amber's own namespaces, so one that lives in others (a
 * container) would come back somewhere else: that is refused until it is supported.
 */
public final class NamespaceKind implements ProcessKind {
    private static final List<String> KINDS = List.of("mnt", "pid", "pid_for_children", "net", "ipc", "uts",
            "user", "cgroup", "time", "time_for_children");

    @Override
    public String name() {
        return "namespaces";
    }

    /** Amber's own namespaces: read once. */
    private static final java.util.Map<String, String> OURS = new java.util.concurrent.ConcurrentHashMap<>();

    @Override
    public void dump(DumpContext ctx) throws IOException {
        int pid = ctx.pid();
        for (String ns : KINDS) {
            Path theirs = Path.of("/proc/" + pid + "/ns/" + ns);
            Path ours = Path.of("/proc/self/ns/" + ns);
            if (!Files.exists(ours) || !Files.exists(theirs)) {
                continue;
            }
            String target = Files.readSymbolicLink(theirs).toString();
            String mine = OURS.computeIfAbsent(ns, k -> {
                try {
                    return Files.readSymbolicLink(ours).toString();
                } catch (IOException e) {
                    return "";
                }
            });
            if (!target.equals(mine)) {
                ctx.refuse("namespace " + ns, target, "differs from amber's (" + mine
                        + "): processes in other namespaces (containers) are not supported yet");
            }
        }
    }

    @Override
    public void restore(RestoreContext ctx) {
        // Nothing: the process restarts in amber's namespaces, which dump checked are its own.
    }
}
