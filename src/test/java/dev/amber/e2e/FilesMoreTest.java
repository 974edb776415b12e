package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deleted files (src/test/c/deleted_file.c) come back unlinked with their contents, offsets,
 * flags and sharing; file locks (src/test/c/file_locks.c) come back held: flock, POSIX and OFD.
 * A deleted file over the contents bound is refused; a missing directory or a lock held by
 * another process fails the restart with one line.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class FilesMoreTest {
    @TempDir
    Path tmp;

    @Test
    void deleted_file() throws Exception {
        checkpointRestart("deleted_file");
    }

    /** Mappings (shared twice, private once, with a copied page) of a file unlinked since. */
    @Test
    void mem_deleted() throws Exception {
        checkpointRestart("mem_deleted");
    }

    /** A pipe's ends opened again through /proc/self/fd: open file descriptions with flags of their own. */
    @Test
    void pipe_reopened() throws Exception {
        checkpointRestart("pipe_reopened");
    }

    @Test
    void file_locks() throws Exception {
        checkpointRestart("file_locks");
    }

    /**
     * Read, write and breaking leases with their signal (src/test/c/file_leases.c), checkpointed
     * leaving the target running (which must not break them), then with --kill and restarted.
     */
    @Test
    void file_leases() throws Exception {
        CheckpointRestartTest.leftRunningThenRestarted(tmp, "file_leases");
    }

    /** Deleted files with holes, 3 GiB and 1 GiB, saved as their data alone (src/test/c/deleted_sparse.c). */
    @Test
    void deleted_sparse() throws Exception {
        try (Target t = Target.start(tmp, "deleted_sparse")) {
            t.awaitReady();
            if (!Amber.nocr()) {
                Amber.Result first = t.run("checkpoint", Long.toString(t.pid), "-D", tmp.resolve("first").toString());
                assertEquals(0, first.exit(), first.describe());
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                long bytes;
                try (var files = Files.list(image)) {
                    bytes = files.mapToLong(p -> p.toFile().length()).sum();
                }
                assertTrue(bytes < 8 << 20, "the image holds " + bytes + " bytes: the holes were saved");
                t.restart(image);
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    @Test
    void deleted_file_large_refused() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: refusal (AMBER_TEST_NOCR=1)");
        try (Target t = Target.start(tmp, "deleted_file", "large")) {
            t.awaitReady();
            String fd = t.logLines().stream().filter(l -> l.startsWith("FD ")).findFirst().orElseThrow().substring(3);
            ProcSnapshot before = masked(t.snapshot());
            Path image = tmp.resolve("image");
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
            assertEquals(3, r.exit(), r.describe());
            String prefix = "pid " + t.pid + " fd " + fd + ": deleted file ";
            List<String> named = r.stderrLines().stream()
                    .filter(l -> l.startsWith(prefix) && l.contains("large.bin: ") && l.contains("over the bound"))
                    .toList();
            assertEquals(1, named.size(), "one refusal line starting '" + prefix + "'\n" + r.describe());
            assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left an inventory");
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
            CheckpointRestartTest.assertSame(before, t, FilesMoreTest::masked);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    @Test
    void deleted_file_directory_gone() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "deleted_file")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            Path sub = t.dir.resolve("cwd").resolve("sub");
            Files.delete(sub);   // empty: its only file was unlinked
            Amber.Result r = t.run("restart", "-D", image.toString());
            assertEquals(1, r.exit(), r.describe());
            assertEquals(1, r.stderrLines().size(), r.describe());
            String line = r.stderrLines().getFirst();
            assertTrue(line.contains(" failed: pid " + t.pid + " fd ") && line.contains(": deleted file ")
                    && line.contains("sub does not exist: create it, then restart"), r.describe());

            Files.createDirectory(sub);
            t.restart(image);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /** The old name taken by a new file: the deleted file comes back as an O_TMPFILE in the directory. */
    @Test
    void deleted_file_name_taken() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "deleted_file")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            Path taken = t.dir.resolve("cwd").resolve("sub").resolve("amber-deleted.bin");
            Files.writeString(taken, "a new file\n");
            t.restart(image);
            for (int fd : new int[] {3, 4, 5}) {
                String link = Files.readSymbolicLink(Path.of("/proc/" + t.pid + "/fd/" + fd)).toString();
                assertTrue(link.matches(".*/sub/#\\d+ \\(deleted\\)"), "fd " + fd + " links to " + link);
            }
            assertEquals("a new file\n", Files.readString(taken));
            t.sigterm();   // the target now FAILs on the link's name, which is all that differs
            t.awaitExit(Duration.ofSeconds(60));
            assertTrue(t.logText().contains("FAIL: rw links to"), t.logText());
        }
    }

    @Test
    void file_locks_conflict() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "file_locks")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            Path file = t.dir.resolve("cwd").resolve("lock-posix");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE);
                    FileLock held = ch.lock(15, 1, false)) {
                Amber.Result r = t.run("restart", "-D", image.toString());
                assertEquals(1, r.exit(), r.describe());
                assertEquals(1, r.stderrLines().size(), r.describe());
                String line = r.stderrLines().getFirst();
                String holder = "process " + ProcessHandle.current().pid() + " holds a conflicting POSIX WRITE lock"
                        + " on bytes 15-15: release it, then restart";
                assertTrue(line.contains(" failed: pid " + t.pid + " fd ") && line.contains("lock-posix: cannot take POSIX"
                        + " write lock on bytes 10-29: ") && line.endsWith(holder), r.describe());
            }
            t.restart(image);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    private void checkpointRestart(String name) throws Exception {
        try (Target t = Target.start(tmp, name)) {
            t.awaitReady();
            ProcSnapshot before = masked(t.snapshot());
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            CheckpointRestartTest.assertSame(before, t, FilesMoreTest::masked);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /** A deleted file and a pipe come back as new inodes, whose numbers no restart can choose: masked. */
    private static ProcSnapshot masked(ProcSnapshot s) {
        Map<Integer, String> fds = new TreeMap<>();
        s.fds().forEach((fd, d) -> fds.put(fd, d.contains(" (deleted) ") || d.startsWith("pipe:[")
                ? d.replaceAll(" ino=\\d+", " ino=<new>").replaceAll("^pipe:\\[\\d+\\]", "pipe:[<new>]") : d));
        List<String> maps = s.maps().stream().map(l -> l.endsWith(" (deleted)")
                ? l.replaceFirst("^(\\S+ \\S+ \\S+ \\S+ )\\d+", "$1<new>") : l).toList();
        return new ProcSnapshot(maps, s.status(), fds);
    }
}
