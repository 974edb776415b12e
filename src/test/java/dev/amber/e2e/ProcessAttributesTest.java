package dev.amber.e2e;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Process attributes (kind {@code dev.amber.kind.attr}) and a process without a vDSO, each
 * checkpointed with --kill, restarted and self-verified: transparent huge pages disabled and
 * the audit login uid of every thread (src/test/c/attributes.c); calls injected through the
 * process's own code once its vDSO is unmapped (src/test/c/vdso_unmapped.c).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ProcessAttributesTest {
    @TempDir
    Path tmp;

    @Test
    void attributes() throws Exception {
        CheckpointRestartTest.roundTrip(tmp, "attributes");
    }

    @Test
    void vdso_unmapped() throws Exception {
        CheckpointRestartTest.roundTrip(tmp, "vdso_unmapped");
    }
}
