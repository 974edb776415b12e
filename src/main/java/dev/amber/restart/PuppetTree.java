package dev.amber.restart;

import dev.amber.image.proto.LeaderState;
import dev.amber.image.proto.Process;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.Ptrace;
import dev.amber.sys.Syscall;
import dev.amber.trace.Injector;
import dev.amber.trace.Regs;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every puppet of a tree, made before anything is restored into any of them, with the saved
 * pids, parents, sessions and process groups.
 *
 * <p>A session is only ever entered by birth: a child is in its parent's session, or makes its
 * own with setsid. So each puppet is cloned from its parent's puppet, and a session leader calls
 * setsid after cloning the children that stay in the session it was born in and before those
 * born in its own. A session whose leader had exited (a "ghost") is made by a helper puppet that
 * takes the leader's pid for a moment, calls setsid and clones the members as its siblings
 * (CLONE_PARENT: their parent is the right one). Process groups are joined once every puppet
 * exists (setpgid needs the group to exist in the same session); a group whose leader had
 * exited gets a helper too. Helpers end, and are reaped by their parents, before any restore
 * starts; zombies are made to exit with their saved status at the same point.
 */
final class PuppetTree implements AutoCloseable {
    private static final int SIGCHLD = 17, WALL = 0x40000000, PR_SET_DUMPABLE = 4, PR_SET_NAME = 15;

    private final Map<Integer, Process> saved = new LinkedHashMap<>();
    private final Map<Integer, Puppet> puppets = new LinkedHashMap<>();
    /** Helpers by the id they stand in for, and the puppet that must reap each (null: Amber). */
    private final Map<Integer, Puppet> helpers = new LinkedHashMap<>();
    private final Map<Integer, Puppet> helperParents = new HashMap<>();
    private Puppet first;
    private boolean done;

    private PuppetTree(List<Process> processes) {
        processes.forEach(p -> saved.put(p.getPid(), p));
    }

    /** Makes the whole tree; {@code processes} has the root first and parents before children. */
    static PuppetTree create(List<Process> processes) throws IOException {
        PuppetTree tree = new PuppetTree(processes);
        try {
            tree.build(processes.getFirst());
            return tree;
        } catch (IOException | RuntimeException e) {
            tree.close();
            throw e;
        }
    }

    Puppet get(int pid) {
        return puppets.get(pid);
    }

    /** Every puppet, in the order of the image. */
    List<Puppet> all() {
        return new ArrayList<>(puppets.values());
    }

    private void build(Process root) throws IOException {
        first = Puppet.first();
        if (root.getSessionLeader() == LeaderState.GHOST && root.getSid() != root.getPid()) {
            Puppet helper = helper(root.getSid(), first, true, SIGCHLD, null);
            puppets.put(root.getPid(), helper.fork(root.getPid(), true, 0));
        } else {
            puppets.put(root.getPid(), first.fork(root.getPid(), true, 0));
        }
        Puppet.kill(first.pid());
        first = null;
        makeChildren(root);
        joinGroups();
        for (Process p : saved.values()) {
            if (p.hasZombie()) {
                exitAs(puppets.get(p.getPid()), p.getZombie().getExitStatus(), p);
            }
        }
        endHelpers();
        for (Process p : saved.values()) {   // the exits above signalled their parents: not a saved signal
            if (!p.hasZombie()) {
                drainChildSignals(puppets.get(p.getPid()).injector());
            }
        }
    }

    /** Clones every child of {@code p} (recursively), around p's own setsid. */
    private void makeChildren(Process p) throws IOException {
        Puppet puppet = puppets.get(p.getPid());
        List<Process> children = saved.values().stream().filter(c -> c.getPpid() == p.getPid() && c != p).toList();
        boolean leader = p.getSid() == p.getPid();
        if (leader) {
            for (Process c : children) {   // born before p made its session: in the one p was born in
                if (c.getSid() != p.getPid() && c.getSid() != c.getPid() && !ghostSession(c)) {
                    makeChild(puppet, c);
                }
            }
            puppet.injector().check("setsid in pid " + p.getPid(), Arch.SYS_SETSID);
        }
        for (Process c : children) {
            if (!puppets.containsKey(c.getPid())) {
                makeChild(puppet, c);
            }
        }
        for (Process c : children) {
            makeChildren(c);
        }
    }

    private boolean ghostSession(Process c) {
        return c.getSessionLeader() == LeaderState.GHOST && c.getSid() != c.getPid();
    }

    private void makeChild(Puppet parent, Process c) throws IOException {
        int signal = c.getExitSignal();
        if (ghostSession(c)) {
            Puppet helper = helper(c.getSid(), parent, false, signal, parent);
            puppets.put(c.getPid(), helper.fork(c.getPid(), true, 0));
        } else {
            puppets.put(c.getPid(), parent.fork(c.getPid(), false, signal));
        }
    }

    /**
     * The helper standing in for gone session leader {@code sid}: cloned from {@code creator}
     * (as its sibling when the member's parent is Amber), then setsid. A session can be rebuilt
     * this way only for members with the same parent: the helper clones them as its siblings.
     */
    private Puppet helper(int sid, Puppet creator, boolean sibling, int signal, Puppet reaper) throws IOException {
        Puppet h = helpers.get(sid);
        if (h != null) {
            if (helperParents.get(sid) != reaper) {
                throw new IOException("session " + sid + " (its leader had exited) has members with different"
                        + " parents: this cannot be rebuilt yet");
            }
            return h;
        }
        try {
            ImageChecks.free(sid, "session id " + sid + " (its leader had exited; a helper takes it for a moment)");
        } catch (IOException e) {
            throw e;
        }
        h = creator.fork(sid, sibling, signal);
        helpers.put(sid, h);
        helperParents.put(sid, reaper);
        h.injector().check("setsid in helper " + sid, Arch.SYS_SETSID);
        return h;
    }

    /**
     * Every puppet joins its saved process group: group leaders first (their groups must exist
     * before anyone joins), then the members. A group whose leader is outside the tree is the
     * restart's own (the root's); one whose leader had exited gets a helper at its id.
     */
    private void joinGroups() throws IOException {
        for (Process p : saved.values()) {
            if (p.getPgid() == p.getPid() && p.getSid() != p.getPid()) {
                puppets.get(p.getPid()).injector().check("setpgid(0, 0) in pid " + p.getPid(), Arch.SYS_SETPGID, 0, 0);
            }
        }
        Process root = saved.values().iterator().next();
        long rootGroup = puppets.get(root.getPid()).injector().check("getpgid", Arch.SYS_GETPGID, 0);
        for (Process p : saved.values()) {
            if (p.getPgid() == p.getPid()) {
                continue;
            }
            Injector inj = puppets.get(p.getPid()).injector();
            long pgid;
            if (saved.containsKey(p.getPgid()) || helpers.containsKey(p.getPgid())) {
                pgid = p.getPgid();
            } else if (p.getGroupLeader() == LeaderState.GHOST) {
                Puppet member = puppets.get(p.getPid());
                ImageChecks.free(p.getPgid(), "process group id " + p.getPgid()
                        + " (its leader had exited; a helper takes it for a moment)");
                Puppet h = member.fork(p.getPgid(), false, SIGCHLD);
                helpers.put(p.getPgid(), h);
                helperParents.put(p.getPgid(), member);
                h.injector().check("setpgid(0, 0) in helper " + p.getPgid(), Arch.SYS_SETPGID, 0, 0);
                pgid = p.getPgid();
            } else if (p.getPgid() == root.getPgid()) {
                pgid = rootGroup;   // the group outside the tree that the root was in: the root's here
            } else {
                continue;   // a group outside the tree: stays in the one it was born in
            }
            inj.check("setpgid(0, " + pgid + ") in pid " + p.getPid(), Arch.SYS_SETPGID, 0, pgid);
        }
    }

    /**
     * Makes a puppet exit with a zombie's saved wait status: exit_group(code) run on the puppet's
     * own syscall instruction as it is let go, or the terminating signal sent (core dumps off: a
     * zombie's "core dumped" bit is not made again).
     */
    private void exitAs(Puppet z, int status, Process p) throws IOException {
        Injector inj = z.injector();
        inj.check("prctl(PR_SET_NAME)", Arch.SYS_PRCTL, PR_SET_NAME, inj.putString(256, p.getComm()));
        int signal = status & 0x7f;
        Regs regs = inj.savedRegs();
        if (signal == 0) {
            regs = regs.with(Arch.RIP, PuppetElf.SYSCALL_AT).with(Arch.RAX, Arch.SYS_EXIT_GROUP)
                    .with(Arch.RDI, (status >> 8) & 0xff).with(Arch.ORIG_RAX, -1);
        } else {
            inj.check("prctl(PR_SET_DUMPABLE, 0)", Arch.SYS_PRCTL, PR_SET_DUMPABLE, 0);
        }
        inj.finishWith(regs, 0);
        inj.close();
        z.tracee().detach(false);
        z.released();
        if (signal != 0) {
            Syscall.check("kill", "zombie pid " + p.getPid(), Arch.SYS_KILL, p.getPid(), signal, 0);
        }
        waitUntilZombie(p.getPid());
    }

    private static void waitUntilZombie(int pid) throws IOException {
        for (int i = 0; i < 500; i++) {
            try {
                if (dev.amber.proc.ProcStat.read(pid).state() == 'Z') {
                    return;
                }
            } catch (IOException e) {
                throw new IOException("zombie pid " + pid + " was reaped before its parent was restored");
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        throw new IOException("pid " + pid + " did not exit with its saved status");
    }

    /** Helpers end: killed, their exit reaped by the tracer, then by their parent puppet (or Amber). */
    private void endHelpers() throws IOException {
        for (var e : helpers.entrySet()) {
            Puppet h = e.getValue();
            Puppet reaper = helperParents.get(e.getKey());
            h.close();   // SIGKILL, and the tracer's reap
            if (reaper != null) {
                reaper.injector().check("wait4 helper " + h.pid(), Arch.SYS_WAIT4, h.pid(), 0, WALL, 0);
            }
        }
        helpers.clear();
    }

    /** Takes SIGCHLD (and other exit signals) that the helpers and zombies raised out of the queue. */
    private static void drainChildSignals(Injector inj) throws IOException {
        long set = inj.put(0, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
                (byte) 0xff, (byte) 0xff, (byte) 0xff});   // every signal: a fresh puppet has none of its own
        long zero = inj.put(16, new byte[16]);
        while (inj.call(Arch.SYS_RT_SIGTIMEDWAIT, set, 0, zero, 8) > 0) {
            // taken
        }
    }

    /** Marks the tree as handed over: close() no longer kills it. */
    void released() {
        done = true;
    }

    /**
     * Unless released: kills every puppet and helper made so far and reaps all of them. Amber is
     * a child subreaper for the restart, so puppets whose parents die come to it to be reaped.
     */
    @Override
    public void close() {
        if (done) {
            return;
        }
        done = true;
        List<Integer> pids = new ArrayList<>();
        if (first != null) {
            pids.add(first.pid());
        }
        helpers.values().forEach(h -> pids.add(h.pid()));
        puppets.values().forEach(p -> pids.add(p.pid()));
        for (int pid : pids) {
            Syscall.raw(Arch.SYS_KILL, pid, 9, 0);
        }
        if (first != null) {
            first.close();
        }
        helpers.values().forEach(Puppet::close);
        puppets.values().forEach(Puppet::close);
        for (int pid : pids) {   // once as tracer (done above), then as parent or subreaper
            for (int i = 0; i < 3; i++) {
                try {
                    Ptrace.waitFor(pid, 0);
                } catch (ErrnoException e) {
                    break;   // ECHILD: gone
                } catch (IOException e) {
                    break;
                }
            }
        }
    }
}
