package dev.amber.kind.file;

import dev.amber.image.proto.RegularFile;
import dev.amber.kind.DumpContext;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.MountInfo;
import dev.amber.proc.MountInfoEntry;
import dev.amber.proc.ProcStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A file of procfs ({@code /proc/PID/stat}, {@code /proc/self/cgroup}, {@code /proc/meminfo}…),
 * known by its descriptor's mount (fdinfo {@code mnt_id}) being a {@code proc} mount. Such a file
 * is no object of its own: its contents are made by the kernel at each read from the process or
 * system it names, so it is reopened by path. A file under {@code /proc/PID} of a process (or
 * thread) of the tree names that process, which does not exist until the restart has made the
 * tree: it is not looked for beforehand, and opened once every process exists (descriptors are
 * restored after the tree is built), at the same pid (the tree's /proc in a new pid namespace).
 * {@code /proc/self} and {@code /proc/thread-self} already read as the pid in the link.
 *
 * <p>Refused: a file of a pid that no longer exists (its process ended; the number may name
 * another process later) and a file under {@code /proc/pressure} opened for writing (a PSI
 * trigger written to it is state of that open file that the kernel does not show).
 */
final class ProcFile {
    private static final int O_ACCMODE = 3;

    private ProcFile() {}

    /**
     * The path below the proc mount ({@code 4970/stat}) when descriptor {@code fd}'s file is on
     * mount {@code mntId} of type proc, else null.
     */
    static String relative(int pid, int mntId, String target) throws IOException {
        for (MountInfoEntry m : MountInfo.read(pid)) {
            if (m.mountId() == mntId) {
                if (!m.fsType().equals("proc")) {
                    return null;
                }
                String top = m.mountPoint().equals("/") ? "" : m.mountPoint();
                return target.equals(top) ? "" : target.startsWith(top + "/") ? target.substring(top.length() + 1) : null;
            }
        }
        return null;
    }

    /** Fills the proc fields of {@code file}; refuses (and returns false) what cannot be reopened so. */
    static boolean dump(DumpContext ctx, int fd, String target, String relative, int flags, RegularFile.Builder file)
            throws IOException {
        file.setProc(true).setProcRelative(relative);
        int named = pidOf(relative);
        if (named > 0) {
            int tgid = tgid(named);
            if (tgid < 0) {
                ctx.refuse("fd " + fd, "proc file " + target, "pid " + named + " has ended since it was opened:"
                        + " a restart cannot open a file of it again; close the descriptor first");
                return false;
            }
            if (ctx.tree().contains(tgid)) {
                file.setProcPid(named);
            }
        }
        if (relative.startsWith("pressure/") && (flags & O_ACCMODE) != 0) {
            ctx.refuse("fd " + fd, "proc file " + target, "opened for writing: a PSI trigger written to it is"
                    + " state of the open file that the kernel does not show: not supported");
            return false;
        }
        return true;
    }

    /** The pid that a path below /proc starts with ({@code 4970/stat} → 4970), or 0. */
    static int pidOf(String relative) {
        int slash = relative.indexOf('/');
        String first = slash < 0 ? relative : relative.substring(0, slash);
        if (first.isEmpty() || first.length() > 9 || !first.chars().allMatch(Character::isDigit)) {
            return 0;
        }
        return Integer.parseInt(first);
    }

    /** The process (thread group) of task {@code tid}, or -1 when there is none. */
    private static int tgid(int tid) throws IOException {
        if (!Files.exists(Path.of("/proc/" + tid))) {
            return -1;
        }
        try {
            return ProcStatus.read(tid).tgid();
        } catch (IOException e) {
            return -1;   // ended meanwhile
        }
    }

    /**
     * The path to open at restart. In a new pid namespace only the tree's own /proc shows the
     * saved pids (and nothing outside the tree): that mount, at /proc.
     */
    static String openPath(RestoreContext ctx, RegularFile f) {
        return ctx.tree().newPidns() ? ("/proc/" + f.getProcRelative()).replaceAll("/$", "") : f.getPath();
    }
}
