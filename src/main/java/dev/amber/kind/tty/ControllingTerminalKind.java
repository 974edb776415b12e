package dev.amber.kind.tty;

import dev.amber.image.proto.ControllingTerminal;
import dev.amber.image.proto.Process;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TreeRestore;
import dev.amber.proc.ProcStat;
import dev.amber.sys.Arch;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Syscall;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The controlling terminal and its foreground process group, from {@code /proc/PID/stat}
 * ({@code tty_nr}, {@code tpgid}). Runs after the sessions and groups exist.
 *
 * <p>A pty of the tree: the session leader takes it again with TIOCSCTTY (through a slave
 * description of its own for the moment) and sets the foreground group with TIOCSPGRP. The
 * kernel gives a controlling terminal to the leader only; other members get it by inheriting it
 * across fork, so they have it only if their puppets are made after their leader took it.
 *
 * <p>The shell's terminal ({@code --shell-job}): the restored job runs in {@code amber restart}'s
 * session, whose terminal is that one, and joins Amber's own process group, so that the shell's
 * job control (Ctrl-Z, {@code fg}, Ctrl-C) reaches the job and Amber together.
 */
public final class ControllingTerminalKind implements ProcessKind {
    /**
     * Unix98 pty slaves: major 136 with the index as minor (the driver's region is 2^20 minors
     * of major 136); kernels before 2.6 spread them over majors 136 to 143, 256 minors each.
     */
    private static final int PTS_MAJOR_FIRST = 136, PTS_MAJOR_LAST = 143;

    @Override
    public String name() {
        return "tty";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        ProcStat stat = ProcStat.read(ctx.pid());
        if (stat.ttyNr() == 0) {
            return;
        }
        int index = ptsIndex(stat.ttyNr());
        ControllingTerminal.Builder c = ControllingTerminal.newBuilder().setForegroundPgid(Math.max(0, stat.tpgid()));
        if (index >= 0 && PtyEnds.of(ctx.tree()).masters().containsKey(index)) {
            ctx.process().setCtty(c.setIndex(index));
        } else if (TerminalKind.shellJob(ctx)) {
            ctx.process().setCtty(c.setShell(true));
        }
        // Otherwise a terminal outside the tree that no descriptor refers to: the restored process
        // gets the session of amber restart instead, as a process started from it would.
    }

    /** The pty index of device number {@code ttyNr} (as /proc/PID/stat shows it), or -1 for another terminal. */
    static int ptsIndex(int ttyNr) {
        int major = (ttyNr >>> 8) & 0xfff;
        int minor = (ttyNr & 0xff) | ((ttyNr >>> 12) & 0xfff00);
        if (major == PTS_MAJOR_FIRST) {
            return minor;
        }
        return major > PTS_MAJOR_FIRST && major <= PTS_MAJOR_LAST ? (major - PTS_MAJOR_FIRST) * 256 + minor : -1;
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        Process p = ctx.process();
        if (!p.hasCtty()) {
            return;
        }
        ControllingTerminal c = p.getCtty();
        Injector inj = ctx.injector();
        if (c.getShell()) {
            joinAmberGroup(ctx);
            return;
        }
        if (p.getSid() != p.getPid()) {
            return;   // inherited from the session leader, if its puppet had it by then
        }
        take(ctx, c.getIndex(), c.getForegroundPgid());
    }

    /**
     * The session leader behind {@code ctx} takes pty {@code index} of the tree as its controlling
     * terminal (again: TIOCSCTTY on its own terminal does nothing) and, when {@code foreground} is
     * not 0, makes that group the foreground one.
     */
    static void take(RestoreContext ctx, int index, int foreground) throws IOException {
        take(ctx.injector(), ctx.pid(), ctx.tree(), index, foreground);
    }

    /**
     * For the restart's tree building, right after session leader {@code p}'s setsid and before it
     * clones the members born in its session: the kernel gives a controlling terminal to the
     * leader only, and the others have it by inheriting it across fork, so the leader takes its
     * pty now (made here from its saved state, found among {@code all}'s descriptors). The
     * foreground group is set later, by this kind's restore, once every group exists.
     */
    public static void takeBeforeMembers(Injector leader, Process p, java.util.Collection<Process> all,
            TreeRestore tree) throws IOException {
        if (!p.hasCtty() || p.getCtty().getShell() || p.getSid() != p.getPid()) {
            return;
        }
        int index = p.getCtty().getIndex();
        var state = all.stream().flatMap(q -> q.getDescriptorsList().stream())
                .filter(d -> d.hasTerminal() && !d.getTerminal().getShell() && d.getTerminal().getIndex() == index
                        && d.getTerminal().hasPty())
                .map(d -> d.getTerminal().getPty()).findFirst();
        if (state.isPresent()) {
            PtyPair.hold(tree, index, state.get(), "pid " + p.getPid());
            take(leader, p.getPid(), tree, index, 0);
        }
    }

    private static void take(Injector inj, int pid, TreeRestore tree, int index, int foreground) throws IOException {
        String who = "pid " + pid + " controlling terminal /dev/pts/" + index;
        PtyPair pair = PtyPair.hold(tree, index, null, who);
        int amberSlave = pair.openSlave(PtyState.O_RDWR);
        try {
            long fd = TreeRestore.pullFromAmber(inj, amberSlave);
            try {
                inj.check("ioctl(TIOCSCTTY) " + who, Arch.SYS_IOCTL, fd, Termios.TIOCSCTTY, 0);
                if (foreground > 0) {
                    byte[] pgid = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(foreground)
                            .array();
                    // A group gone before the freeze (a job that ended meanwhile) cannot be put back:
                    // the leader's own group stays in the foreground, as TIOCSCTTY left it.
                    inj.call(Arch.SYS_IOCTL, fd, Termios.TIOCSPGRP, inj.put(0, pgid));
                }
            } finally {
                inj.call(Arch.SYS_CLOSE, fd);
            }
        } finally {
            Pidfd.close(amberSlave);
        }
    }

    /**
     * A job whose session was the shell's joins Amber's process group (the shell's foreground job
     * on the terminal amber restart runs in). A leader of its own session keeps it.
     */
    private static void joinAmberGroup(RestoreContext ctx) throws IOException {
        ShellTerminal.hold(ctx.tree(), dev.amber.image.proto.Terminal.getDefaultInstance(), "pid " + ctx.pid());
        Process p = ctx.process();
        if (p.getSid() == p.getPid() || ctx.tree().pids().contains(p.getSid())) {
            return;
        }
        long amberGroup = Syscall.raw(Arch.SYS_GETPGID, 0, 0, 0);
        ctx.injector().check("setpgid(0, " + amberGroup + ") pid " + ctx.pid() + " into amber's group",
                Arch.SYS_SETPGID, 0, amberGroup);
    }
}
