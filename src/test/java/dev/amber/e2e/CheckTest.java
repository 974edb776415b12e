package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code amber check}: one line per probe, name then status, and a verdict. As root on these
 * machines every probe amber needs passes (exit 0); without capabilities the privileges line says
 * MISSING and the exit is 1.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CheckTest {
    /** Probes checkpoint and restart cannot do without: each must print "ok" here. */
    static final List<String> REQUIRED = List.of("clone3 with set_tid (exact PIDs)", "rseq", "process_vm_readv",
            "prctl(PR_SET_MM_MAP)", "/proc/self/map_files (CONFIG_CHECKPOINT_RESTORE)");
    /** Probes for later features: present, with "ok" or "no (why)". */
    static final List<String> OPTIONAL = List.of("pidfd_open", "pidfd_getfd (copy a target's descriptors)",
            "/proc/PID/task/TID/children", "time namespaces", "userfaultfd (lazy restore, dirty tracking)",
            "freezer cgroup v1", "seccomp filters (CONFIG_SECCOMP_FILTER)");
    static final String PRIVILEGES = "privileges (root, or CAP_CHECKPOINT_RESTORE+CAP_SYS_PTRACE)";

    @TempDir
    Path tmp;

    /** The status after the probe's name on its one line, or an AssertionError. */
    private static String status(List<String> lines, String probe, String stdout) {
        Pattern p = Pattern.compile("^" + Pattern.quote(probe) + " +(\\S.*)$");
        List<String> found = new ArrayList<>();
        for (String line : lines) {
            var m = p.matcher(line);
            if (m.matches())
                found.add(m.group(1));
        }
        assertEquals(1, found.size(), "one line for probe '" + probe + "'\n" + stdout);
        return found.getFirst();
    }

    @Test
    void check_as_root() throws Exception {
        Amber.Result r = Amber.run(Target.TOOL_TIMEOUT, tmp.resolve("tool"), "check");
        assertEquals(0, r.exit(), r.describe());
        assertEquals("", r.stderr(), r.describe());
        List<String> lines = r.stdout().lines().toList();
        assertEquals(1 + REQUIRED.size() + OPTIONAL.size() + 1, lines.size(), "privileges, every probe, verdict\n" + r.describe());
        assertEquals("ok", status(lines, PRIVILEGES, r.stdout()));
        for (String probe : REQUIRED)
            assertEquals("ok", status(lines, probe, r.stdout()), probe);
        for (String probe : OPTIONAL) {
            String s = status(lines, probe, r.stdout());
            assertTrue(s.equals("ok") || s.matches("no \\(.+\\)"), probe + ": '" + s + "'");
        }
        assertEquals("amber can checkpoint and restart on this machine", lines.getLast());
    }

    /** Root without any capability (setpriv --bounding-set=-all): the privileges line says MISSING, exit 1. */
    @Test
    void check_without_capabilities() throws Exception {
        List<String> noCaps = List.of("setpriv", "--bounding-set=-all", "--inh-caps=-all", "--");
        try (Amber.Running run = Amber.start(tmp.resolve("tool"), noCaps, "check")) {
            Amber.Result r = run.await(Target.TOOL_TIMEOUT);
            assertEquals(1, r.exit(), r.describe());
            List<String> lines = r.stdout().lines().toList();
            assertTrue(status(lines, PRIVILEGES, r.stdout()).startsWith("MISSING: amber needs root (or CAP_CHECKPOINT_RESTORE"),
                    r.describe());
            for (String probe : REQUIRED)
                status(lines, probe, r.stdout()); // still probed and listed
            assertEquals("amber cannot work here: see MISSING above", lines.getLast(), r.describe());
        }
    }
}
