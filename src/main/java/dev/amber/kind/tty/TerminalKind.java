package dev.amber.kind.tty;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Terminal;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.FdRef;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TreeRestore;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Tty;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Terminal descriptors: the ends of pseudo-terminal pairs ({@code /dev/ptmx}, {@code /dev/pts/N})
 * whose master is in the tree, and, with {@code --shell-job}, the shell's terminal (a
 * {@code /dev/pts/N} whose master some process outside the tree holds: the user's terminal
 * emulator, sshd, tmux). Without {@code --shell-job} such a terminal is refused.
 *
 * <p>A pair is saved once, with the first of its descriptors in tree order ({@link PtyState});
 * at restart it is made once in Amber with the same index ({@link PtyPair}) and each puppet
 * takes its end from there. Other terminals ({@code /dev/tty}, consoles, serial lines) are left
 * to the descriptor table, which refuses them.
 */
public final class TerminalKind implements FdKind {
    private static final Object SAVED = new Object(), REFUSED = new Object();
    /** Opened by name, the controlling terminal; its descriptor's link reads so. Restored as a slave of that pty. */
    private static final String DEV_TTY = "/dev/tty";
    private static final int F_SETFL = 4, F_SETFD = 2, AT_FDCWD = -100;

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.TERMINAL;
    }

    @Override
    public boolean handles(String target) {
        return PtyEnds.isMaster(target) || PtyEnds.slaveIndex(target) >= 0 || target.equals(DEV_TTY);
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        PtyEnds ends = PtyEnds.of(ctx.tree());
        Terminal.Builder t = Terminal.newBuilder().setFlags(info.flags()).setPath(target);
        int index;
        FdRef master;
        if (PtyEnds.isMaster(target)) {
            index = PtyEnds.masterIndex(info);
            if (index < 0) {
                index = masterIndexByIoctl(ctx.pid(), fd);
            }
            master = new FdRef(ctx.pid(), fd);
            t.setMaster(true);
        } else {
            index = target.equals(DEV_TTY)
                    ? ControllingTerminalKind.ptsIndex(dev.amber.proc.ProcStat.read(ctx.pid()).ttyNr())
                    : PtyEnds.slaveIndex(target);
            if (index < 0) {
                ctx.refuse("fd " + fd, "terminal " + target, "its controlling terminal is not a pseudo-terminal:"
                        + " only pseudo-terminals are supported");
                return;
            }
            master = ends.masters().get(index);
            String name = target.equals(DEV_TTY) ? DEV_TTY + " (/dev/pts/" + index + ")" : target;
            if (master == null) {
                if (!shellJob(ctx)) {
                    // One line per terminal and process: its other descriptors (stdout, stderr) add
                    // nothing, and the refusal already stops the checkpoint.
                    if (!ctx.tree().<Set<String>>cached(REFUSED, HashSet::new).add(ctx.pid() + " " + name)) {
                        return;
                    }
                    ctx.refuse("fd " + fd, "terminal " + name, "it belongs to a process outside the tree (its"
                            + " master end is not in the tree): checkpoint with --shell-job to restart the job on the"
                            + " terminal amber restart runs in, or start the program with its input and output"
                            + " redirected (e.g. </dev/null >log 2>&1)");
                    return;
                }
                int copy = Pidfd.grab(ctx.pid(), fd);
                try {
                    t.setShell(true).setShellTermios(ByteString.copyFrom(
                            Tty.get(copy, Termios.TCGETS2, Termios.SIZE, "TCGETS2 " + target)));
                } finally {
                    Pidfd.close(copy);
                }
                d.setTerminal(t);
                return;
            }
        }
        t.setIndex(index);
        Set<Integer> saved = ctx.tree().cached(SAVED, HashSet::new);
        if (saved.add(index)) {
            t.setPty(PtyState.read(master, index, !ends.slaves().getOrDefault(index, List.of()).isEmpty()));
        }
        d.setTerminal(t);
    }

    /** checkpoint --shell-job. */
    static boolean shellJob(DumpContext ctx) {
        return ctx.tree().options().shellJob();
    }

    private static int masterIndexByIoctl(int pid, int fd) throws IOException {
        int copy = Pidfd.grab(pid, fd);
        try {
            return Tty.getInt(copy, Termios.TIOCGPTN, "TIOCGPTN");
        } finally {
            Pidfd.close(copy);
        }
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        long fd = open(ctx, d);
        // pidfd_getfd sets close-on-exec; the table sets it again when it was saved so.
        ctx.injector().check("fcntl(F_SETFD, 0) pid " + ctx.pid() + " fd " + fd, Arch.SYS_FCNTL, fd, F_SETFD, 0);
        return fd;
    }

    /**
     * /dev/tty opened by the puppet itself, as the process had opened it (the same link), once
     * the puppet has the terminal as its controlling terminal; -errno when it has none (a member
     * of a session whose leader took it after this puppet was made): then a slave of its own.
     */
    private static long openDevTty(RestoreContext ctx, Terminal t) throws IOException {
        Injector inj = ctx.injector();
        return inj.call(Arch.SYS_OPENAT, AT_FDCWD, inj.putString(0, DEV_TTY),
                PtyState.openFlags(t.getFlags()) | PtyState.O_NOCTTY);
    }

    private static long open(RestoreContext ctx, Descriptor d) throws IOException {
        Terminal t = d.getTerminal();
        Injector inj = ctx.injector();
        String who = "pid " + ctx.pid() + " fd " + d.getFd();
        if (t.getShell()) {
            ShellTerminal shell = ShellTerminal.hold(ctx.tree(), t, who);
            long fd = t.getPath().equals(DEV_TTY) ? openDevTty(ctx, t) : -1;   // the puppet is in Amber's session
            return fd >= 0 ? fd : TreeRestore.pullFromAmber(inj, shell.open(t.getFlags(), ctx.tree()));
        }
        PtyPair pair = PtyPair.hold(ctx.tree(), t.getIndex(), t.hasPty() ? t.getPty() : null, who);
        if (t.getPath().equals(DEV_TTY)) {
            var p = ctx.process();
            if (p.getSid() == p.getPid() && p.hasCtty() && p.getCtty().getIndex() == t.getIndex()) {
                ControllingTerminalKind.take(ctx, t.getIndex(), 0);   // early: /dev/tty is the controlling terminal
            }
            long fd = openDevTty(ctx, t);
            if (fd >= 0) {
                return fd;
            }
        }
        if (t.getMaster()) {
            long fd = TreeRestore.pullFromAmber(inj, pair.master());
            // The one master description: its status flags as saved (Amber opened it non-blocking).
            inj.check("fcntl(F_SETFL) " + who + " pty master", Arch.SYS_FCNTL, fd, F_SETFL,
                    t.getFlags() & (PtyState.O_NONBLOCK | PtyState.O_APPEND));
            return fd;
        }
        return TreeRestore.pullFromAmber(inj, ctx.tree().keep(pair.openSlave(t.getFlags())));
    }
}
