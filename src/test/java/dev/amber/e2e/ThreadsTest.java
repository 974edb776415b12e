package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Multi-threaded targets through checkpoint --kill and restart --wait, as in
 * {@link CheckpointRestartTest}: besides the process's /proc, every thread's /proc/PID/task/TID
 * must come back: the same set of TIDs, and per thread its name, blocked and pending signals,
 * affinity and state (never stopped or traced). The targets check the rest from inside.
 * With AMBER_TEST_NOCR=1 the checkpoint and restart are skipped, which checks the targets alone.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ThreadsTest {
    @TempDir
    Path tmp;

    /** What /proc/PID/task/TID shows of one thread that a restart must reproduce. */
    record Task(String comm, char state, String tracerPid, Map<String, String> status) {
        /** /proc/PID/task/TID/status fields compared per thread. */
        static final List<String> FIELDS = List.of("Pid", "Tgid", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt",
                "Cpus_allowed_list");

        static Task take(long pid, long tid) throws IOException {
            Path dir = Path.of("/proc", Long.toString(pid), "task", Long.toString(tid));
            String stat = Procs.read(dir.resolve("stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            Map<String, String> status = new TreeMap<>();
            String tracer = "";
            for (String line : Procs.read(dir.resolve("status")).split("\n")) {
                int colon = line.indexOf(':');
                if (colon < 0)
                    continue;
                String key = line.substring(0, colon), value = line.substring(colon + 1).trim();
                if (FIELDS.contains(key))
                    status.put(key, value);
                if (key.equals("TracerPid"))
                    tracer = value;
            }
            return new Task(Procs.read(dir.resolve("comm")).strip(), state, tracer, status);
        }

        /** Every thread of pid by TID; threads that end while being read are left out. */
        static Map<Long, Task> all(long pid) throws IOException {
            Map<Long, Task> tasks = new TreeMap<>();
            try (DirectoryStream<Path> dir = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
                for (Path p : dir) {
                    long tid = Long.parseLong(p.getFileName().toString());
                    try {
                        tasks.put(tid, take(pid, tid));
                    } catch (IOException e) {
                        // exited meanwhile
                    }
                }
            }
            return tasks;
        }

        /** "" when every thread agrees; otherwise one line per difference. */
        static String diff(Map<Long, Task> before, Map<Long, Task> after) {
            StringBuilder sb = new StringBuilder();
            if (!before.keySet().equals(after.keySet()))
                sb.append("TIDs: ").append(new TreeSet<>(before.keySet())).append(" -> ")
                        .append(new TreeSet<>(after.keySet())).append('\n');
            for (var e : after.entrySet()) {
                Task b = before.get(e.getKey()), a = e.getValue();
                String at = "task " + e.getKey() + " (" + a.comm() + ")";
                if (a.state() == 't' || a.state() == 'T' || !"0".equals(a.tracerPid()))
                    sb.append(at).append(": state ").append(a.state()).append(", TracerPid ").append(a.tracerPid())
                            .append(" (stopped or traced)\n");
                if (b == null)
                    continue;
                if (!b.comm().equals(a.comm()))
                    sb.append(at).append(": comm ").append(b.comm()).append(" -> ").append(a.comm()).append('\n');
                if (b.state() != a.state())
                    sb.append(at).append(": state ").append(b.state()).append(" -> ").append(a.state()).append('\n');
                for (String f : FIELDS)
                    if (!b.status().get(f).equals(a.status().get(f)))
                        sb.append(at).append(": ").append(f).append(' ').append(b.status().get(f)).append(" -> ")
                                .append(a.status().get(f)).append('\n');
            }
            return sb.toString();
        }
    }

    /** Polls until the threads look the same twice in a row (the main thread may still be on its way to sleep). */
    static Map<Long, Task> settled(long pid) throws IOException, InterruptedException {
        Map<Long, Task> last = Task.all(pid);
        for (int i = 0; i < 100; i++) {
            Thread.sleep(20);
            Map<Long, Task> now = Task.all(pid);
            if (now.equals(last))
                return now;
            last = now;
        }
        return last;
    }

    /** Compares until equal, for a while (a restored thread first re-enters its call), and reports the last difference. */
    static void assertTasksSame(Map<Long, Task> before, Target t) throws IOException, InterruptedException {
        String diff = "";
        for (int attempt = 0; attempt < 80; attempt++) {
            diff = Task.diff(before, Task.all(t.pid));
            if (diff.isEmpty())
                break;
            Thread.sleep(25);
        }
        assertEquals("", diff, "threads of pid " + t.pid + " (" + t.name + ") differ after restart:\n" + diff);
    }

    private void checkpointRestart(String name) throws Exception {
        try (Target t = Target.start(tmp, name)) {
            t.awaitReady();
            Map<Long, Task> tasks = settled(t.pid);
            ProcSnapshot before = t.snapshot();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(before, t);
            assertTasksSame(tasks, t);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /** Threads in cond waits (with and without timeout), a mutex, a join, nanosleep, sem_wait, a barrier, a busy loop. */
    @Test
    void threads_blocking() throws Exception {
        checkpointRestart("threads_blocking");
    }

    /** Thread-directed and process-directed pending signals, and a thread asleep in sigwaitinfo. */
    @Test
    void threads_signals() throws Exception {
        checkpointRestart("threads_signals");
    }

    /** __thread variables, errno and pthread keys of every thread, one of them running. */
    @Test
    void threads_tls() throws Exception {
        checkpointRestart("threads_tls");
    }
}
