package dev.amber.kind.attr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.amber.image.proto.Rlimit;
import java.util.List;
import org.junit.jupiter.api.Test;

/** /proc/PID/limits text as the 16 limits, in resource order. */
class RlimitsTest {
    private static final String TEXT = """
            Limit                     Soft Limit           Hard Limit           Units
            Max cpu time              unlimited            unlimited            seconds
            Max file size             unlimited            unlimited            bytes
            Max data size             unlimited            unlimited            bytes
            Max stack size            8388608              unlimited            bytes
            Max core file size        0                    unlimited            bytes
            Max resident set          unlimited            unlimited            bytes
            Max processes             95654                95654                processes
            Max open files            1024                 1048576              files
            Max locked memory         8388608              8388608              bytes
            Max address space         unlimited            unlimited            bytes
            Max file locks            unlimited            unlimited            locks
            Max pending signals       95654                95654                signals
            Max msgqueue size         819200               819200               bytes
            Max nice priority         0                    0
            Max realtime priority     0                    0
            Max realtime timeout      unlimited            unlimited            us
            """;

    @Test
    void parses_every_row_in_resource_order() {
        List<Rlimit> limits = Rlimits.parse(TEXT);
        assertEquals(16, limits.size());
        long inf = -1L;
        assertEquals(Rlimit.newBuilder().setResource(0).setSoft(inf).setHard(inf).build(), limits.get(0));
        assertEquals(Rlimit.newBuilder().setResource(3).setSoft(8388608).setHard(inf).build(), limits.get(3));
        assertEquals(Rlimit.newBuilder().setResource(7).setSoft(1024).setHard(1048576).build(), limits.get(7));
        assertEquals(Rlimit.newBuilder().setResource(13).setSoft(0).setHard(0).build(), limits.get(13));
        assertEquals(Rlimit.newBuilder().setResource(15).setSoft(inf).setHard(inf).build(), limits.get(15));
    }

    @Test
    void anything_else_is_not_guessed_at() {
        assertNull(Rlimits.parse(""));
        assertNull(Rlimits.parse(TEXT.lines().limit(10).reduce("", (a, b) -> a + b + "\n")));
        assertNull(Rlimits.parse(TEXT.replace("1048576", "lots")));
    }
}
