package dev.amber.kind;

import dev.amber.image.proto.Process;
import dev.amber.image.proto.Thread;
import dev.amber.trace.Injector;
import dev.amber.trace.Tracee;
import java.util.ArrayList;
import java.util.List;

/**
 * What a kind's dump works with for one stopped process: the process, its leader thread seized
 * and an injector open on it (calls run inside the process; every signal is held off while it
 * is open), the image records being filled, and the refusals found so far.
 */
public final class DumpContext {
    private final int pid;
    private final Tracee leader;
    private final Injector injector;
    private final Process.Builder process;
    private final Thread.Builder leaderThread;
    private final List<Refusal> refusals = new ArrayList<>();

    public DumpContext(int pid, Tracee leader, Injector injector, Process.Builder process, Thread.Builder leaderThread) {
        this.pid = pid;
        this.leader = leader;
        this.injector = injector;
        this.process = process;
        this.leaderThread = leaderThread;
    }

    public int pid() {
        return pid;
    }

    public Tracee leader() {
        return leader;
    }

    public Injector injector() {
        return injector;
    }

    public Process.Builder process() {
        return process;
    }

    /** The thread-group leader's record (single-threaded processes: the only thread). */
    public Thread.Builder leaderThread() {
        return leaderThread;
    }

    public void refuse(String where, String kind, String reason) {
        refusals.add(new Refusal(pid, where, kind, reason));
    }

    public List<Refusal> refusals() {
        return refusals;
    }
}
