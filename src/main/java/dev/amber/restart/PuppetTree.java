package dev.amber.restart;

import dev.amber.image.proto.LeaderState;
import dev.amber.image.proto.Process;
import dev.amber.kind.TreeRestore;
import dev.amber.kind.tty.ControllingTerminalKind;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.ProcessMemory;
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
 * starts; zombies are made to exit with their saved status right after.
 */
final class PuppetTree implements AutoCloseable {
    private static final int SIGCHLD = 17, WALL = 0x40000000, PR_SET_DUMPABLE = 4, PR_SET_NAME = 15;
    private static final int CLONE_NEWNS = 0x00020000, CLONE_NEWPID = 0x20000000, MS_NOSUID = 2, MS_NODEV = 4,
            MS_NOEXEC = 8, MS_REC = 0x4000, MS_PRIVATE = 1 << 18, PROT_RWX = 7, MAP_PRIVATE_ANON = 0x22;

    private final Map<Integer, Process> saved = new LinkedHashMap<>();
    private final Map<Integer, Puppet> puppets = new LinkedHashMap<>();
    /** Helpers by the id they stand in for, and the puppet that must reap each (null: Amber). */
    private final Map<Integer, Puppet> helpers = new LinkedHashMap<>();
    private final Map<Integer, Puppet> helperParents = new HashMap<>();
    private Puppet first;
    private Puppet init;   // --new-pidns: the namespace's helper init, the root's parent
    private final boolean newPidns;
    private boolean done;

    private final TreeRestore tree;
    private final MemoryPhase memoryPhase;

    /**
     * Restores a process's memory into its puppet as soon as the puppet exists, before it clones
     * its children: they are born with that memory, sharing its pages as after fork.
     * {@code inheritedFrom} is the process whose restored memory the puppet was born with (null:
     * born empty).
     */
    interface MemoryPhase {
        void restore(Process p, Puppet puppet, Process inheritedFrom) throws IOException;
    }

    private PuppetTree(List<Process> processes, boolean newPidns, TreeRestore tree, MemoryPhase memoryPhase) {
        processes.forEach(p -> saved.put(p.getPid(), p));
        this.newPidns = newPidns;
        this.tree = tree;
        this.memoryPhase = memoryPhase;
    }

    /**
     * Makes the whole tree; {@code processes} has the root first and parents before children.
     * With {@code newPidns} the tree is made in a new pid namespace (and a new mount namespace
     * with its own /proc), under a helper init at pid 1: the saved pids need not be free here.
     */
    static PuppetTree create(List<Process> processes, boolean newPidns, TreeRestore restore, MemoryPhase memoryPhase)
            throws IOException {
        PuppetTree tree = new PuppetTree(processes, newPidns, restore, memoryPhase);
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
        Puppet creator = first;
        boolean sibling = true;   // the root is Amber's child: cloned with CLONE_PARENT from the first puppet
        if (newPidns) {
            first.injector().check("unshare(CLONE_NEWPID | CLONE_NEWNS)", Arch.SYS_UNSHARE, CLONE_NEWPID | CLONE_NEWNS);
            init = first.fork(1, true, 0);
            Injector inj = init.injector();
            inj.check("mount --make-rprivate /", Arch.SYS_MOUNT, 0, inj.putString(0, "/"), 0, MS_REC | MS_PRIVATE, 0);
            inj.check("mount proc on /proc", Arch.SYS_MOUNT, inj.putString(0, "proc"), inj.putString(64, "/proc"),
                    inj.putString(128, "proc"), MS_NOSUID | MS_NODEV | MS_NOEXEC, 0);
            creator = init;   // an init cannot use CLONE_PARENT: the root is its child
            sibling = false;
        }
        if (root.getSessionLeader() == LeaderState.GHOST && root.getSid() != root.getPid()) {
            Puppet helper = helper(root.getSid(), creator, sibling, SIGCHLD, sibling ? null : creator);
            puppets.put(root.getPid(), helper.fork(root.getPid(), true, 0));
        } else {
            puppets.put(root.getPid(), creator.fork(root.getPid(), sibling, SIGCHLD));
        }
        Puppet.kill(first.pid());
        first = null;
        memoryPhase.restore(root, puppets.get(root.getPid()), null);
        makeChildren(root);
        joinGroups();
        // Helpers end first: a group helper may be the child of a zombie-to-be (the member it was
        // cloned from), which must still be alive to reap it.
        endHelpers();
        for (Process p : saved.values()) {
            if (p.hasZombie()) {
                exitAs(puppets.get(p.getPid()), p.getZombie().getExitStatus(), p);
            }
        }
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
            // The members born in its session inherit its controlling terminal: it takes it first.
            ControllingTerminalKind.takeBeforeMembers(puppet.injector(), p, saved.values(), tree);
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
        boolean sharedTable = c.getFilesOf() != 0;
        if (sharedTable && ghostSession(c)) {   // the helper would clone it, sharing the helper's table
            throw new IOException("pid " + c.getPid() + " shares the descriptor table of pid " + c.getFilesOf()
                    + " (CLONE_FILES) but is in a session whose leader had exited: a restart cannot make both yet");
        }
        if (ghostSession(c)) {
            Puppet helper = helper(c.getSid(), parent, false, signal, parent);
            puppets.put(c.getPid(), helper.fork(c.getPid(), true, 0));
        } else {
            puppets.put(c.getPid(), parent.fork(c.getPid(), false, signal, sharedTable));
        }
        if (!c.hasZombie()) {
            memoryPhase.restore(c, puppets.get(c.getPid()), saved.get(c.getPpid()));
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
                        + " parents (pid " + (reaper == null ? "amber" : reaper.pid()) + " among them), which a restart"
                        + " cannot rebuild yet: checkpoint such a tree while its session leader still runs");
            }
            return h;
        }
        if (!newPidns) {
            ImageChecks.free(sid, "session id " + sid + " (its leader had exited; a helper takes it for a moment)");
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
        Injector rootInj = puppets.get(root.getPid()).injector();
        long rootGroup = rootInj.check("getpgid", Arch.SYS_GETPGID, 0);
        if (rootGroup == 0 && root.getSid() != root.getPid()) {
            // In a new pid namespace the group the root was born in is not visible (reads 0) and
            // cannot be joined: the root leads a group of its own, which its group's members join.
            rootGroup = rootInj.check("setpgid(0, 0) in pid " + root.getPid(), Arch.SYS_SETPGID, 0, 0);
            rootGroup = root.getPid();
        }
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
                if (!newPidns) {
                    ImageChecks.free(p.getPgid(), "process group id " + p.getPgid()
                            + " (its leader had exited; a helper takes it for a moment)");
                }
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
            regs = regs.with(Arch.RIP, inj.gadget()).with(Arch.RAX, Arch.SYS_EXIT_GROUP)
                    .with(Arch.RDI, (status >> 8) & 0xff).with(Arch.ORIG_RAX, -1);
        } else {
            inj.check("prctl(PR_SET_DUMPABLE, 0)", Arch.SYS_PRCTL, PR_SET_DUMPABLE, 0);
            // It waits in pause() for the signal: its memory may be its parent's by now, with
            // nothing sensible to run after the clone.
            regs = regs.with(Arch.RIP, inj.gadget()).with(Arch.RAX, Arch.SYS_PAUSE).with(Arch.ORIG_RAX, -1);
        }
        inj.finishWith(regs, 0);
        inj.close();
        z.tracee().detach(false);
        z.released();
        if (signal != 0) {
            Syscall.check("kill", "zombie pid " + p.getPid(), Arch.SYS_KILL, z.pid(), signal, 0);
        }
        waitUntilZombie(z.pid());
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
            if (reaper != null) {   // by the id it has in the reaper's pid namespace: the saved one
                reaper.injector().check("wait4 helper " + e.getKey(), Arch.SYS_WAIT4, e.getKey(), 0, WALL, 0);
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

    /** The helper init of the new pid namespace, or null without --new-pidns. */
    Puppet init() {
        return init;
    }

    /**
     * With --new-pidns, once the tree is restored: the init gets its program ({@link InitCode}) on
     * a page of its own and is let go, reaping orphans and ending with the root's status.
     */
    void startInit() throws IOException {
        if (init == null) {
            return;
        }
        Injector inj = init.injector();
        inj.check("close_range", Arch.SYS_CLOSE_RANGE, 3, 0xffffffffL, 0);   // amber's pidfd among them
        inj.check("prctl(PR_SET_NAME)", Arch.SYS_PRCTL, PR_SET_NAME, inj.putString(0, "amber-init"));
        long page = inj.check("mmap init code", Arch.SYS_MMAP, 0, Arch.PAGE_SIZE, PROT_RWX, MAP_PRIVATE_ANON, -1, 0);
        int root = saved.keySet().iterator().next();
        ProcessMemory.write(init.pid(), page, InitCode.bytes(root));
        inj.finishWith(inj.savedRegs().with(Arch.RIP, page).with(Arch.RSP, page + Arch.PAGE_SIZE - 64)
                .with(Arch.ORIG_RAX, -1), 0);
        inj.close();
        init.tracee().detach(false);
        init.released();
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
        if (init != null) {
            pids.add(init.pid());
        }
        helpers.values().forEach(h -> pids.add(h.pid()));
        puppets.values().forEach(p -> pids.add(p.pid()));
        for (int pid : pids) {
            Syscall.raw(Arch.SYS_KILL, pid, 9, 0);
        }
        if (first != null) {
            first.close();
        }
        if (init != null) {
            init.close();
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
