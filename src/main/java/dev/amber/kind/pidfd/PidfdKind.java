package dev.amber.kind.pidfd;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Pidfd;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TreeRestore;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * pidfd_open(2) and clone(CLONE_PIDFD) descriptors. fdinfo names the process, as Amber sees it,
 * or -1 once it has exited and been reaped (the inode, one per process, tells dead ones apart):
 *
 * <pre>
 * flags:	02004002     O_RDWR | PIDFD_NONBLOCK (O_NONBLOCK) | O_CLOEXEC; PIDFD_THREAD is O_EXCL
 * ino:	704099
 * Pid:	22450
 * NSpid:	22450
 * </pre>
 *
 * For a thread other than the leader (PIDFD_THREAD) the Pid line reads -1 too, so a -1 is asked
 * of the kernel again with PIDFD_GET_INFO.
 *
 * <p>A pidfd of a process of the tree is opened again on that process once the whole tree exists
 * (its pid is the saved one); one of a process that is gone is a pidfd of another process that
 * is gone, made once in Amber per saved inode and shared by every descriptor that had it. A
 * pidfd of a live process outside the tree is refused: nothing at restart can tell that a
 * process with that pid is still the same one.
 */
public final class PidfdKind implements FdKind {
    private static final int O_NONBLOCK = 04000, O_EXCL = 0200, F_SETFL = 4;
    /** What pidfd_open takes: PIDFD_NONBLOCK and PIDFD_THREAD, which are these open flags. */
    private static final int OPEN_FLAGS = O_NONBLOCK | O_EXCL;

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.PIDFD;
    }

    @Override
    public boolean handles(String target) {
        return target.equals("anon_inode:[pidfd]") || target.startsWith("pidfd:");
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        List<String> pids = info.values("Pid");
        if (pids.size() != 1) {
            ctx.refuse("fd " + fd, "pidfd", "fdinfo has no Pid line: this kernel cannot tell its process");
            return;
        }
        int pid = Integer.parseInt(pids.getFirst().trim());
        if (pid < 0) {  // gone, or a thread other than its process's leader: the kernel tells which
            pid = dev.amber.sys.Pidfd.target(ctx.pid(), fd);
        }
        Pidfd.Builder p = Pidfd.newBuilder().setFlags(info.flags());
        if (pid < 0) {
            long ino = info.ino() >= 0 ? info.ino()
                    : (Long) Files.getAttribute(Path.of("/proc/" + ctx.pid() + "/fd/" + fd), "unix:ino");
            p.setDead(true).setIno(ino);
        } else if (ctx.tree().contains(pid) || isThreadOfTree(ctx, pid)) {
            p.setPid(pid);
        } else {
            ctx.refuse("fd " + fd, "pidfd", "of pid " + pid + " (" + comm(pid) + "), which is outside the tree: a"
                    + " restart could not tell that a process with that pid is the same one; checkpoint a tree that"
                    + " holds it, or close the descriptor");
            return;
        }
        d.setPidfd(p);
    }

    private static boolean isThreadOfTree(DumpContext ctx, int tid) {
        for (int pid : ctx.tree().pids()) {
            if (Files.exists(Path.of("/proc/" + pid + "/task/" + tid))) {
                return true;
            }
        }
        return false;
    }

    private static String comm(int pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/comm")).strip();
        } catch (IOException e) {
            return "gone";
        }
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        Pidfd p = d.getPidfd();
        String what = "fd " + d.getFd() + " pidfd";
        if (!p.getDead()) {
            return inj.check("pidfd_open(" + p.getPid() + ") " + what, Arch.SYS_PIDFD_OPEN, p.getPid(),
                    p.getFlags() & OPEN_FLAGS);
        }
        TreeRestore tree = ctx.tree();
        int amberFd = tree.hold(List.of("pidfd", p.getIno()),
                () -> tree.keep(dev.amber.sys.Pidfd.ofDeadProcess(p.getFlags() & OPEN_FLAGS)));
        long fd = TreeRestore.pullFromAmber(inj, amberFd);
        inj.check("fcntl(F_SETFL) " + what, Arch.SYS_FCNTL, fd, F_SETFL, p.getFlags() & O_NONBLOCK);
        return fd;
    }
}
