package dev.amber.checkpoint;

import dev.amber.image.proto.LeaderState;
import dev.amber.image.proto.Process;
import dev.amber.kind.OutsideProcesses;
import dev.amber.proc.ProcStat;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Whether each process's session and group leaders are in the tree, outside it, or gone (a
 * "ghost": the leader exited and no process outside the tree is in that session or group, so a
 * restart may take the id again for a moment to rebuild it).
 */
final class Leaders {
    private Leaders() {}

    static void mark(List<Process.Builder> processes) {
        Set<Integer> inTree = new HashSet<>();
        processes.forEach(p -> inTree.add(p.getPid()));
        Set<Integer> outsideSessions = null, outsideGroups = null;
        for (Process.Builder p : processes) {
            if (inTree.contains(p.getSid()) && inTree.contains(p.getPgid())) {
                continue;
            }
            if (outsideSessions == null) {
                outsideSessions = new HashSet<>();
                outsideGroups = new HashSet<>();
                scanOutside(inTree, outsideSessions, outsideGroups);
            }
            if (!inTree.contains(p.getSid())) {
                p.setSessionLeader(outsideSessions.contains(p.getSid()) ? LeaderState.OUTSIDE : LeaderState.GHOST);
            }
            if (!inTree.contains(p.getPgid())) {
                p.setGroupLeader(outsideGroups.contains(p.getPgid()) ? LeaderState.OUTSIDE : LeaderState.GHOST);
            }
        }
    }

    /** The sessions and groups of every process outside the tree (and their own pids). */
    private static void scanOutside(Set<Integer> inTree, Set<Integer> sessions, Set<Integer> groups) {
        OutsideProcesses.forEach(inTree, (pid, proc) -> {
            ProcStat s = ProcStat.read(pid);
            sessions.add(s.session());
            groups.add(s.pgrp());
            sessions.add(pid);   // a process outside holds the id: it cannot be taken for a helper
            groups.add(pid);
        });
    }
}
