package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * hugetlb memory (src/test/c/hugetlb.c): MAP_HUGETLB private and shared anonymous memory and a
 * MFD_HUGETLB memfd, in a parent and its child, come back in 2 MiB pages with their contents,
 * private copies private and shared objects shared; after a checkpoint that leaves the tree
 * running and after two checkpoint --kill and restart rounds.
 *
 * <p>Huge pages come from a pool the administrator reserves: the test grows the 2 MiB pool by
 * what it needs if it has too few free, and puts the setting back after.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class HugetlbTest {
    private static final Path POOL = Path.of("/sys/kernel/mm/hugepages/hugepages-2048kB");
    /** The target's pages and reservations (3 private, 1 shared, 2 memfd, the child's copy) and a spare. */
    private static final int NEEDED = 10;

    @TempDir
    Path tmp;

    @Test
    void huge_pages_private_shared_and_memfd() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(POOL), "this kernel has no 2 MiB huge pages");
        long reserved = read("nr_hugepages"), free = read("free_hugepages");
        try {
            if (free < NEEDED) {
                Files.writeString(POOL.resolve("nr_hugepages"), Long.toString(reserved + NEEDED - free));
                Assumptions.assumeTrue(read("free_hugepages") >= NEEDED, "the kernel could not reserve " + NEEDED
                        + " huge pages");
            }
            run();
        } finally {
            if (read("nr_hugepages") != reserved) {
                Files.writeString(POOL.resolve("nr_hugepages"), Long.toString(reserved));
            }
        }
    }

    private void run() throws Exception {
        try (Target t = Target.start(tmp, "hugetlb")) {
            java.util.Set<Long> tree = new java.util.HashSet<>();
            try {
                t.awaitReady();
                tree.addAll(TreeTest.tree(t.pid).keySet());
                ProcSnapshot before = MemfdKindTest.masked(t.snapshot());
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

    private static long read(String name) throws IOException {
        return Long.parseLong(Files.readString(POOL.resolve(name)).strip());
    }
}
