package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * memfd (src/test/c/memfd.c): descriptors and mappings of memfds come back as the same memfds,
 * with names, contents, seals and offsets; one over the contents bound is refused by name, leaving
 * the target running (hugetlb memfds: HugetlbTest).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MemfdKindTest {
    /*
     * A memfd is a shmem file whose inode number the kernel hands out at creation: no restart can
     * choose it, so that field (and the padding after it, as wide as the number) is masked in maps
     * and fdinfo, as ProcSnapshot does for /dev/zero.
     */
    private static final Pattern MEMFD_MAPS_LINE = Pattern.compile("^(\\S+ \\S+ \\S+ \\S+ )(\\d+)\\s+(/memfd:.*)$");

    @TempDir
    Path tmp;

    @Test
    void memfd() throws Exception {
        try (Target t = Target.start(tmp, "memfd")) {
            t.awaitReady();
            ProcSnapshot before = masked(t.snapshot());
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(before, t, MemfdKindTest::masked);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /**
     * A script in a memfd run with execveat (memfd_exec.c), by a parent and the child that shares
     * the descriptor, after a checkpoint that leaves them running and after two restarts: the
     * restored descriptor is no writer of the memfd (else exec fails with ETXTBSY); a
     * MFD_NOEXEC_SEAL memfd stays unexecutable and sealed.
     */
    @Test
    void memfd_exec() throws Exception {
        try (Target t = Target.start(tmp, "memfd_exec")) {
            java.util.Set<Long> tree = new java.util.HashSet<>();
            try {
                t.awaitReady();
                tree.addAll(TreeTest.tree(t.pid).keySet());
                ProcSnapshot before = masked(t.snapshot());
                if (!Amber.nocr()) {
                    Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("running").toString());
                    assertEquals(0, r.exit(), r.describe());
                    for (int round = 0; round < 2; round++) {
                        Path image = tmp.resolve("image" + round);
                        t.checkpointKill(image);
                        t.restart(image);
                    }
                }
                CheckpointRestartTest.assertSame(before, t, MemfdKindTest::masked);
                t.sigterm();
                t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
            } finally {
                SharedMappingTest.killChildren(t, tree);
            }
        }
    }

    @Test
    void memfd_large_refused() throws Exception {
        refused("large", "memfd amber large");
    }

    static ProcSnapshot masked(ProcSnapshot s) {
        List<String> maps = s.maps().stream().map(l -> MEMFD_MAPS_LINE.matcher(l).replaceFirst("$1<memfd-ino> $3")).toList();
        Map<Integer, String> fds = new TreeMap<>();
        s.fds().forEach((fd, d) -> fds.put(fd, d.startsWith("/memfd:") ? d.replaceAll(" ino=\\d+", " ino=<memfd-ino>") : d));
        return new ProcSnapshot(maps, s.status(), fds);
    }

    private void refused(String what, String kind) throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: refusal (AMBER_TEST_NOCR=1)");
        try (Target t = Target.start(tmp, "memfd", what)) {
            t.awaitReady();
            String fd = t.logLines().stream().filter(l -> l.startsWith("FD ")).findFirst().orElseThrow().substring(3);
            ProcSnapshot before = t.snapshot();
            Path image = tmp.resolve("image");
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
            assertEquals(3, r.exit(), r.describe());
            String prefix = "pid " + t.pid + " fd " + fd + ": " + kind + ": ";
            List<String> named = r.stderrLines().stream().filter(l -> l.startsWith(prefix)).toList();
            assertEquals(1, named.size(), "one refusal line starting '" + prefix + "'\n" + r.describe());
            assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left an inventory");
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
            CheckpointRestartTest.assertSame(before, t);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }
}
