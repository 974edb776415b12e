package dev.amber.proc;

import java.io.IOException;
import java.util.Arrays;

/**
 * The threads and children of a process.
 *
 * <p>{@code /proc/PID/task/} holds one directory per thread, named by its TID.
 * {@code /proc/PID/task/TID/children} lists, space-separated, the children that thread created
 * (CONFIG_PROC_CHILDREN), e.g. {@code "4243 4250 "}; a child whose creating thread exited is
 * listed under the thread that inherited it. The list is only stable while the tree is frozen.
 */
public final class Tasks {
    private Tasks() {}

    /** Thread ids, ascending. */
    public static int[] list(int pid) throws IOException {
        return ProcFiles.listNumbers(ProcFiles.path(pid, "task"));
    }

    /** Children of one thread, in the kernel's order. */
    public static int[] children(int pid, int tid) throws IOException {
        return ProcFiles.read(ProcFiles.taskPath(pid, tid, "children"), Tasks::parseChildren);
    }

    public static int[] parseChildren(String text) {
        var lines = new Lines("children", text);
        if (!lines.next()) return new int[0];
        Cursor c = lines.cursor();
        int[] pids = new int[8];
        int count = 0;
        while (!c.atEnd()) {
            if (count == pids.length) pids = Arrays.copyOf(pids, count * 2);
            pids[count++] = c.decimalInt("decimal pids");
        }
        if (lines.next()) throw lines.error("one line");
        return Arrays.copyOf(pids, count);
    }
}
