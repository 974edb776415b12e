package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Directories and FIFOs removed while in use (src/test/c/deleted_dirs.c): a removed working
 * directory (also held open), an open directory removed with its parent, and an open FIFO with
 * bytes in it, unlinked. After restart each is still removed, with its mode, owner and time, and
 * none of their names exists again.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class FilesDeletedTest {
    @TempDir
    Path tmp;

    @Test
    void deleted_dirs() throws Exception {
        try (Target t = Target.start(tmp, "deleted_dirs")) {
            t.awaitReady();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /**
     * O_PATH descriptors of symbolic links (one dangling, one removed), a FIFO, a directory and a
     * file, shared by a parent and its child (src/test/c/opath.c): checkpointed once leaving the
     * tree running, then again with --kill and restarted.
     */
    @Test
    void opath() throws Exception {
        CheckpointRestartTest.leftRunningThenRestarted(tmp, "opath");
    }

    /**
     * A file whose open name was removed while a hard link remains, shared by a parent and its
     * child, which also has a description of its own (src/test/c/linked_elsewhere.c): checkpointed
     * leaving the tree running, then with --kill and restarted; it is the same file after.
     */
    @Test
    void linked_elsewhere() throws Exception {
        CheckpointRestartTest.leftRunningThenRestarted(tmp, "linked_elsewhere");
    }

    /** Its last name removed after the checkpoint: the restart names the file and leaves nothing behind. */
    @Test
    void linked_elsewhere_gone() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "linked_elsewhere")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            Files.delete(t.dir.resolve("cwd").resolve("other"));
            Amber.Result r = t.run("restart", "-D", image.toString());
            assertEquals(1, r.exit(), r.describe());
            String[] lines = r.stderr().strip().split("\n");
            assertEquals(1, lines.length, r.describe());
            assertTrue(lines[0].contains("deleted file " + t.dir.resolve("cwd").resolve("name"))
                    && lines[0].contains("its other names were removed since the checkpoint"), r.describe());
            assertFalse(Procs.exists(t.pid), "pid " + t.pid + " left behind by a failed restart");
        }
    }

    /**
     * Working directories in /proc/PID and /proc/PID/task/PID of a process that has ended, in a
     * parent and its child (src/test/c/dead_proc_cwd.c): still unhashed after restart.
     */
    @Test
    void dead_proc_cwd() throws Exception {
        try (Target t = Target.start(tmp, "dead_proc_cwd")) {
            t.awaitReady();
            if (!Amber.nocr()) {
                Path image = tmp.resolve("image");
                t.checkpointKill(image);
                t.restart(image);
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(60)));
        }
    }

    /**
     * The removed working directory's name taken by a new directory before the restart: the
     * node is made under a name of its own beside it, removed again, and the new one is left
     * alone.
     */
    @Test
    void deleted_dir_name_taken() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine");
        try (Target t = Target.start(tmp, "deleted_dirs")) {
            t.awaitReady();
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            Path taken = t.dir.resolve("cwd").resolve("work");
            Files.createDirectory(taken);
            Files.writeString(taken.resolve("mine"), "a new directory\n");
            t.restart(image);
            String cwd = Files.readSymbolicLink(Path.of("/proc/" + t.pid + "/cwd")).toString();
            assertTrue(cwd.matches(".*/cwd/\\.amber-deleted-\\d+ \\(deleted\\)"), "cwd links to " + cwd);
            try (var left = Files.list(t.dir.resolve("cwd"))) {
                assertEquals(List.of(), left.filter(p -> p.getFileName().toString().startsWith(".amber")).toList());
            }
            assertEquals("a new directory\n", Files.readString(taken.resolve("mine")));
            t.sigterm();   // the target now FAILs on the link's name, which is all that differs
            t.awaitExit(Duration.ofSeconds(60));
            assertTrue(t.logText().contains("FAIL: cwd links to"), t.logText());
        }
    }
}
