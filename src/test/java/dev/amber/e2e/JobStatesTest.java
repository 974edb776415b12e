package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Children in job-control states (job_states.c): one stopped by SIGTSTP with two threads, one
 * stopped by SIGSTOP with more SIGSTOPs pending, one stopped by SIGTTIN whose stop the parent
 * has collected, a zombie in a group whose leader is gone. A
 * checkpoint that leaves the tree running leaves them stopped, nothing pending added; after two
 * checkpoint --kill and restart rounds the parent's waitid still reports each one's own stop
 * signal (not the collected one), no SIGCHLD reached the parent, SIGCONT lets them run on, and
 * the zombie is reaped with its status.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class JobStatesTest {
    @TempDir
    Path tmp;

    /**
     * The signals pending for the process or any of its threads (the leader's SigPnd and
     * ShdPnd): a SIGSTOP the checkpoint took off the shared queue while seizing comes back
     * thread-directed, the same to the process (SIGCONT discards both).
     */
    private static long pending(long pid) {
        return Long.parseUnsignedLong(Procs.status(pid, "SigPnd"), 16) | Long.parseUnsignedLong(Procs.status(pid, "ShdPnd"), 16);
    }

    @Test
    void stopped_children_and_a_zombie_in_a_gone_group() throws Exception {
        try (Target t = Target.start(tmp, "job_states")) {
            long[] pids = {0, 0, 0, 0};
            try {
                t.awaitReady();
                String line = t.logLines().stream().filter(l -> l.startsWith("PIDS ")).findFirst().orElseThrow();
                String[] f = line.split(" ");
                for (int i = 0; i < 4; i++) {
                    pids[i] = Long.parseLong(f[i + 1]);
                }
                if (!Amber.nocr()) {
                    List<Long> before = List.of(pending(pids[0]), pending(pids[1]));
                    Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("live").toString());
                    assertEquals(0, r.exit(), r.describe());
                    for (long p : new long[] {pids[0], pids[1]}) {
                        Procs.await(() -> Procs.state(p) == 'T' && "0".equals(Procs.status(p, "TracerPid")),
                                Duration.ofSeconds(5), "pid " + p + " stopped again, untraced, after the checkpoint");
                    }
                    assertEquals(before, List.of(pending(pids[0]), pending(pids[1])),
                            "pending signals of the stopped children after a checkpoint that leaves them");
                    for (int round = 0; round < 2; round++) {
                        Path image = tmp.resolve("image" + round);
                        t.checkpointKill(image);
                        t.restart(image);
                        for (long p : new long[] {pids[0], pids[1], pids[3]}) {
                            Procs.await(() -> Procs.state(p) == 'T', Duration.ofSeconds(5),
                                    "pid " + p + " stopped after restart " + round);
                        }
                    }
                }
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                for (long p : pids) {
                    if (p > 0 && t.binary.toString().equals(Procs.exe(p))) {
                        Procs.signal(p, "KILL");
                    }
                }
            }
        }
    }
}
