package dev.amber.restart;

import dev.amber.image.proto.FileIdentity;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.Vma;
import dev.amber.image.proto.VmaKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What a restart checks outside the image before it creates anything: the PID is free, and
 * every file the process maps or has open is there, the mapped ones unchanged (a changed
 * library or executable would run different code than the saved registers point into).
 */
final class ImageChecks {
    private ImageChecks() {}

    static void check(Process p, boolean pidsHere) throws IOException {
        if (pidsHere) {
            free(p.getPid(), "pid " + p.getPid());
        }
        if (p.hasZombie()) {
            return;   // nothing else of it is restored
        }
        for (var thread : p.getThreadsList()) {
            if (pidsHere && thread.getTid() != p.getPid() && Files.exists(Path.of("/proc/" + thread.getTid()))) {
                throw new IOException("thread id " + thread.getTid() + " of pid " + p.getPid()
                        + " is in use by another process (" + readComm(Path.of("/proc/" + thread.getTid()))
                        + "): end it, then restart, or restart with --new-pidns");
            }
        }
        var bounds = p.getMemory().getBounds();
        unchanged(bounds.getExePath(), bounds.hasExeIdentity() ? bounds.getExeIdentity() : null, "executable");
        for (Vma v : p.getMemory().getVmasList()) {
            boolean remade = v.getDeleted() || !v.getContents().isEmpty() && !Files.exists(Path.of(v.getPath()));
            if ((v.getKind() == VmaKind.FILE_PRIVATE || v.getKind() == VmaKind.FILE_SHARED) && !remade) {
                unchanged(v.getPath(), v.getKind() == VmaKind.FILE_PRIVATE ? v.getFileIdentity() : null,
                        String.format("file mapped at 0x%x", v.getStart()));
            }
        }
        String seccomp = dev.amber.kind.seccomp.SeccompKind.restartProblem(p);
        if (seccomp != null) {
            throw new IOException(seccomp);
        }
        String table = dev.amber.kind.SpareFds.problem(p, dev.amber.kind.memfd.MemfdEarlyKind.temporaries(p),
                dev.amber.kind.SpareFds.HARD);
        if (table != null) {
            throw new IOException(table);
        }
        for (var d : p.getDescriptorsList()) {
            if (d.getRegular().hasNode()) {
                continue;   // made again by the restart, missing parents too
            } else if (d.getRegular().getDeleted()) {
                Path dir = Path.of(d.getRegular().getPath()).getParent();
                if (!Files.isDirectory(dir)) {
                    throw new IOException("pid " + p.getPid() + " fd " + d.getFd() + ": deleted file "
                            + d.getRegular().getPath() + ": its directory " + dir
                            + " does not exist: create it, then restart");
                }
            } else if (d.getRegular().getProcPid() != 0) {
                continue;   // a file of a process of the tree: opened once the tree exists
            } else if (!pidsHere && d.getRegular().getProc() && d.getRegular().getProcRelative().matches("\\d+(/.*)?")) {
                throw new IOException("pid " + p.getPid() + " fd " + d.getFd() + ": " + d.getRegular().getPath()
                        + " is a file of a process outside the tree, which the tree's new pid namespace does not"
                        + " show: restart without --new-pidns");
            } else if (d.hasRegular() && !Files.exists(Path.of(d.getRegular().getPath()), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException("pid " + p.getPid() + " fd " + d.getFd() + ": " + d.getRegular().getPath()
                        + " does not exist: restore the file, then restart");
            }
        }
        for (String dir : p.getFs().hasCwdNode() || !p.getFs().getCwdDeadProc().isEmpty() ? new String[] {p.getFs().getRoot()}
                : new String[] {p.getFs().getCwd(), p.getFs().getRoot()}) {
            if (!Files.isDirectory(Path.of(dir))) {
                throw new IOException("pid " + p.getPid() + ": directory " + dir + " does not exist: create it, then restart");
            }
        }
    }

    /**
     * Fails unless {@code pid} is free. A process killed a moment ago (a checkpoint with --kill)
     * may still be an orphaned zombie waiting for pid 1, which reaps only every second or two:
     * such a pid is waited for, up to 3 s.
     */
    static void free(int pid, String what) throws IOException {
        Path proc = Path.of("/proc/" + pid);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (Files.exists(proc) && orphanedZombie(pid) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (Files.exists(proc)) {
            throw new IOException(what + " is in use by another process (pid " + pid + ", " + readComm(proc)
                    + "): end it, then restart, or restart with --new-pidns (the tree gets its pids in a new"
                    + " pid namespace)");
        }
    }

    private static boolean orphanedZombie(int pid) {
        try {
            var stat = dev.amber.proc.ProcStat.read(pid);
            return stat.state() == 'Z' && stat.ppid() == 1;
        } catch (IOException e) {
            return false;
        }
    }

    private static void unchanged(String path, FileIdentity saved, String what) throws IOException {
        Path file = Path.of(path);
        if (!Files.exists(file)) {
            throw new IOException(what + " " + path + " does not exist: restore the file, then restart");
        }
        if (saved == null) {
            return;
        }
        Map<String, Object> a = Files.readAttributes(file, "unix:size,lastModifiedTime");
        long size = (Long) a.get("size");
        long mtime = ((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS);
        if (size != saved.getSize() || mtime != saved.getMtimeNanos()) {
            throw new IOException(what + " " + path + " changed since the checkpoint (size " + saved.getSize()
                    + " -> " + size + ", mtime changed " + (mtime != saved.getMtimeNanos())
                    + "): put the original file back, then restart");
        }
    }

    private static String readComm(Path proc) {
        try {
            return Files.readString(proc.resolve("comm")).strip();
        } catch (IOException e) {
            return "?";
        }
    }
}
