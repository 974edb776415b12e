package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.amber.image.ImageFixtures;
import dev.amber.image.ImageFormat;
import dev.amber.image.proto.Inventory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reader's rule (DESIGN.md §5) through {@code restart}: an image of a newer format, or of
 * another arch, is refused before anything is created, in one line naming both versions (or
 * both arches); an older minor of the same major is accepted. Each case ends by restarting the
 * untouched image, which shows that the refusal was about the forged field.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ImageVersionTest {
    @TempDir
    Path tmp;

    @BeforeEach
    void needsEngine() {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: image versions (AMBER_TEST_NOCR=1)");
    }

    /** Checkpoints counter with --kill, forges a copy of the image, and expects restart to refuse it. */
    private void refused(UnaryOperator<Inventory.Builder> forge, String image, String ours) throws Exception {
        try (Target t = Target.start(tmp, "counter")) {
            t.awaitReady();
            CheckpointRestartTest.awaitCountAbove(t, 3);
            Path original = tmp.resolve("image");
            t.checkpointKill(original);
            Path forged = copy(original, tmp.resolve("forged"));
            ImageFixtures.rewriteInventory(forged, forge);

            // Watch the pid all along: validation comes before anything is created, even briefly.
            Amber.Running restart = t.tool("restart", "-D", forged.toString(), "--wait");
            long deadline = System.nanoTime() + Target.TOOL_TIMEOUT.toNanos();
            boolean appeared = false;
            while (restart.isAlive() && System.nanoTime() < deadline) {
                appeared |= Procs.exists(t.pid);
                Thread.sleep(1);
            }
            Amber.Result r = restart.await(Duration.ofSeconds(10));
            BadInputTest.assertOneLineFailure(r);
            assertFalse(appeared, "pid " + t.pid + " appeared during the refused restart\n" + r.describe());
            String line = r.stderrLines().getFirst();
            assertTrue(line.startsWith("amber: ") && line.contains(image) && line.contains(ours),
                    "the line names the image's " + image + " and this amber's " + ours + "\n" + r.describe());
            assertFalse(Procs.exists(t.pid), "pid " + t.pid + " exists after a refused restart");
            assertEquals(List.of(), Targets.running(t.binary), "processes running " + t.binary);

            t.restart(original);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    @Test
    void newer_major_refused() throws Exception {
        int major = ImageFormat.MAJOR + 1;
        refused(b -> b.setFormatMajor(major), major + "." + ImageFormat.MINOR, ImageFormat.version());
    }

    @Test
    void newer_minor_refused() throws Exception {
        int minor = ImageFormat.MINOR + 1;
        refused(b -> b.setFormatMinor(minor), ImageFormat.MAJOR + "." + minor, ImageFormat.version());
    }

    @Test
    void other_arch_refused() throws Exception {
        String other = ImageFormat.hostArch().equals("aarch64") ? "x86_64" : "aarch64";
        refused(b -> b.setArch(other), other, ImageFormat.hostArch());
    }

    @Test
    void older_minor_accepted() throws Exception {
        Assumptions.assumeTrue(ImageFormat.MINOR > 0,
                "image format " + ImageFormat.version() + " has no older minor to accept");
        try (Target t = Target.start(tmp, "counter")) {
            t.awaitReady();
            CheckpointRestartTest.awaitCountAbove(t, 3);
            ProcSnapshot before = t.snapshot();
            Path image = tmp.resolve("image");
            t.checkpointKill(image);
            Inventory forged = ImageFixtures.rewriteInventory(image, b -> b.setFormatMinor(ImageFormat.MINOR - 1));
            assertEquals(ImageFormat.MINOR - 1, forged.getFormatMinor());
            long at = CheckpointRestartTest.lastCount(t);
            t.restart(image);
            CheckpointRestartTest.assertSame(before, t, true);
            CheckpointRestartTest.awaitCountAbove(t, at);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList())
                Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }
}
