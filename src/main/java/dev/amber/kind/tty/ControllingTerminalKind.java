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
    /** Unix98 pty slaves: majors 136 to 143, 256 minors each. */
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
        int major = (stat.ttyNr() >>> 8) & 0xfff;
        int minor = (stat.ttyNr() & 0xff) | ((stat.ttyNr() >>> 12) & 0xfff00);
        ControllingTerminal.Builder c = ControllingTerminal.newBuilder().setForegroundPgid(Math.max(0, stat.tpgid()));
        if (major >= PTS_MAJOR_FIRST && major <= PTS_MAJOR_LAST
                && PtyEnds.of(ctx.tree()).masters().containsKey((major - PTS_MAJOR_FIRST) * 256 + minor)) {
            ctx.process().setCtty(c.setIndex((major - PTS_MAJOR_FIRST) * 256 + minor));
        } else if (TerminalKind.shellJob(ctx)) {
            ctx.process().setCtty(c.setShell(true));
        }
        // Otherwise a terminal outside the tree that no descriptor refers to: the restored process
        // gets the session of amber restart instead, as a process started from it would.
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
        String who = "pid " + ctx.pid() + " controlling terminal /dev/pts/" + c.getIndex();
        PtyPair pair = PtyPair.hold(ctx.tree(), c.getIndex(), null, who);
        int amberSlave = pair.openSlave(PtyState.O_RDWR);
        try {
            long fd = TreeRestore.pullFromAmber(inj, amberSlave);
            try {
                inj.check("ioctl(TIOCSCTTY) " + who, Arch.SYS_IOCTL, fd, Termios.TIOCSCTTY, 0);
                if (c.getForegroundPgid() > 0) {
                    byte[] pgid = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(c.getForegroundPgid())
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
