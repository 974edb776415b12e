package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

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
 * Descriptors of namespaces (src/test/c/ns_fds.c): the process's own, of every type, one shared
 * with a child, come back naming the same namespaces; one the process is not in is refused.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NamespaceFdTest {
    @TempDir
    Path tmp;

    @Test
    void own_namespaces() throws Exception {
        CheckpointRestartTest.leftRunningThenRestarted(tmp, "ns_fds");
    }

    @Test
    void foreign_namespace_refused() throws Exception {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: refusal");
        try (Target t = Target.start(tmp, "ns_fds", "foreign")) {
            t.awaitReady();
            String fd = t.logLines().stream().filter(l -> l.startsWith("FOREIGN ")).findFirst().orElseThrow()
                    .substring(8);
            Path image = tmp.resolve("image");
            Amber.Result r = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString(), "--kill");
            assertEquals(3, r.exit(), r.describe());
            List<String> named = r.stderrLines().stream()
                    .filter(l -> l.startsWith("pid " + t.pid + " fd " + fd + ": namespace net:[")
                            && l.endsWith("not one the process is in: namespaces other than the process's own are not"
                                    + " supported yet"))
                    .toList();
            assertEquals(1, named.size(), r.describe());
            assertFalse(Files.exists(image.resolve("inventory.pb")), "a refused checkpoint left an inventory");
            Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }
}
