package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.amber.cli.Version;
import dev.amber.image.ImageFormat;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./amber} launcher script of the project root. It rebuilds target/amber.jar when a
 * source is newer (about 20 s of Maven); that must not happen inside {@code mvn test}, so these
 * tests run only when the jar is up to date, by the script's own rule.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LauncherTest {
    private static final Path BASE = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
    private static final Path LAUNCHER = BASE.resolve("amber");
    private static final Path JAR = BASE.resolve("target/amber.jar");
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    private record Run(int exit, String stdout, String stderr) {
        List<String> stderrLines() {
            return stderr.lines().filter(l -> !l.isBlank()).toList();
        }

        String describe(List<String> cmd) {
            return String.join(" ", cmd) + " exited " + exit + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    /** The script's rule: rebuild when there is no jar or something in src/main or pom.xml is newer. */
    @BeforeEach
    void jarUpToDate() throws IOException {
        Assumptions.assumeTrue(Files.isRegularFile(JAR), JAR + " is not built: ./amber would build it (mvn package) "
                + "inside mvn test; run ./amber --version once, then this test");
        FileTime jar = Files.getLastModifiedTime(JAR);
        Optional<Path> newer;
        try (Stream<Path> s = Stream.concat(Files.walk(BASE.resolve("src/main")), Stream.of(BASE.resolve("pom.xml")))) {
            newer = s.filter(p -> {
                try {
                    return Files.getLastModifiedTime(p).compareTo(jar) > 0;
                } catch (IOException e) {
                    return false;
                }
            }).findFirst();
        }
        Assumptions.assumeTrue(newer.isEmpty(), () -> newer.get() + " is newer than " + JAR + ": ./amber would rebuild "
                + "the jar (mvn package) inside mvn test; run ./amber --version once, then this test");
    }

    /** Runs a command in the project root with a timeout; output goes to files, killed on timeout. */
    private Run run(List<String> cmd) throws IOException, InterruptedException {
        Path out = Files.createTempFile(tmp, "launcher-", ".out");
        Path err = Files.createTempFile(tmp, "launcher-", ".err");
        Process p = new ProcessBuilder(cmd)
                .directory(BASE.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        try {
            if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS))
                throw new AssertionError(String.join(" ", cmd) + ": no exit within " + TIMEOUT + "\n" + Files.readString(err));
            return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly(); // by this pid only
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void version_as_root() throws Exception {
        List<String> cmd = List.of("./amber", "--version");
        Run r = run(cmd);
        assertEquals(0, r.exit(), r.describe(cmd));
        assertEquals("amber " + Version.TOOL + " (image format " + ImageFormat.version() + ")\n", r.stdout(), r.describe(cmd));
        assertEquals("", r.stderr(), r.describe(cmd));
    }

    /** As nobody with no capabilities: refused by the script itself, before any JVM, in one line. */
    @Test
    void checkpoint_unprivileged() throws Exception {
        Path image = tmp.resolve("x");
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps=-all", "--", "./amber", "checkpoint", "1", "-D", image.toString()));
        Run r = run(cmd);
        assertEquals(1, r.exit(), r.describe(cmd));
        assertEquals(1, r.stderrLines().size(), "exactly one line on stderr\n" + r.describe(cmd));
        String line = r.stderrLines().getFirst();
        assertTrue(line.startsWith("amber: ") && line.contains("root") && line.contains("CAP_CHECKPOINT_RESTORE"),
                "the line names root and CAP_CHECKPOINT_RESTORE\n" + r.describe(cmd));
        assertEquals("", r.stdout(), r.describe(cmd));
        assertFalse(Files.exists(image), image + " created by a refused checkpoint");
    }
}
