package dev.amber.kind.cgroup;

import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TaskHandle;
import dev.amber.proc.ProcStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Cgroup membership. A restarted process is born where {@code amber restart} runs, like any new
 * process, and inherits its parent's cgroups from then on; Amber does not save cgroups yet (that
 * comes with container support). So a process, or a thread, that is in a cgroup other than the
 * one it would inherit (its parent's, the root's parent outside the tree; a thread its process's)
 * was put there on purpose and would come back somewhere else: it is refused, naming both
 * cgroups, unless it is Amber's own cgroup (where a restart run from here puts it anyway: a daemon
 * reparented to init keeps the cgroup of whoever started it). A tree that never moved stays in the cgroups of whoever restarts it, as a new job
 * would.
 */
public final class CgroupKind implements ProcessKind {
    @Override
    public String name() {
        return "cgroup";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        int pid = ctx.pid();
        Map<String, String> amber = read(Path.of("/proc/self/cgroup"));
        Map<String, String> own = read(Path.of("/proc/" + pid + "/cgroup"));
        int parent = ProcStatus.read(pid).ppid();
        if (parent > 0) {
            Map<String, String> parents;
            try {
                parents = read(Path.of("/proc/" + parent + "/cgroup"));
            } catch (NoSuchFileException e) {
                parents = own; // the parent has just gone: the process is being reparented
            }
            refuseDifferences(ctx, "cgroup", own, parents, amber, "its parent pid " + parent);
        }
        for (TaskHandle task : ctx.tasks()) {
            if (task.tid() == pid) {
                continue;
            }
            Map<String, String> thread;
            try {
                thread = read(Path.of("/proc/" + pid + "/task/" + task.tid() + "/cgroup"));
            } catch (NoSuchFileException e) {
                continue;
            }
            refuseDifferences(ctx, "thread " + task.tid() + " cgroup", thread, own, amber, "its process");
        }
    }

    private static void refuseDifferences(DumpContext ctx, String where, Map<String, String> mine,
            Map<String, String> theirs, Map<String, String> amber, String whose) {
        for (var e : mine.entrySet()) {
            String other = theirs.get(e.getKey());
            // Amber's own cgroup is where a restart from here puts it too (a daemon reparented to
            // init stays in the cgroup of whoever started it).
            if (other != null && !other.equals(e.getValue()) && !e.getValue().equals(amber.get(e.getKey()))) {
                ctx.refuse(where, e.getKey() + ":" + e.getValue(), "differs from that of " + whose + " ("
                        + e.getKey() + ":" + other + "): cgroup membership is not saved yet;"
                        + " move it back to checkpoint it");
            }
        }
    }

    /**
     * {@code /proc/PID/cgroup}: one line per hierarchy, {@code ID:CONTROLLERS:PATH}, the unified
     * hierarchy as {@code 0::PATH}. Keyed by the controllers ({@code "unified"} for cgroup v2).
     */
    static Map<String, String> read(Path file) throws IOException {
        return parse(Files.readAllLines(file));
    }

    static Map<String, String> parse(List<String> lines) {
        Map<String, String> byHierarchy = new LinkedHashMap<>();
        for (String line : lines) {
            int first = line.indexOf(':');
            int second = first < 0 ? -1 : line.indexOf(':', first + 1);
            if (second < 0) {
                continue;
            }
            String controllers = line.substring(first + 1, second);
            byHierarchy.put(controllers.isEmpty() ? "unified" : controllers, line.substring(second + 1));
        }
        return byHierarchy;
    }

    @Override
    public void restore(RestoreContext ctx) {
        // Nothing: dump checked that every process is where a new process would be born.
    }
}
