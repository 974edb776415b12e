package dev.amber.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.amber.sys.Arch;
import dev.amber.sys.Ptrace;
import dev.amber.sys.Spawn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Injected calls run in the target and leave it as it was. */
class InjectorTest {
    @Test
    void injectsCallsAndPutsTheTaskBack() throws Exception {
        int pid = new Spawn("/bin/sleep", List.of("sleep", "30")).input(0, "/dev/null").start();
        try (Tracer tracer = new Tracer()) {
            // posix_spawn returns once the child has called execve, before the new image is all
            // mapped: wait until sleep is asleep in its nanosleep.
            for (int i = 0; i < 500 && !Files.readString(Path.of("/proc/" + pid + "/stat")).contains(") S "); i++) {
                Thread.sleep(2);
            }
            String mapsBefore = Files.readString(Path.of("/proc/" + pid + "/maps"));
            tracer.call(() -> {
                Tracee t = Tracee.seize(pid, 0);
                Regs before = t.regs();
                long maskBefore = t.sigmask();
                assertEquals(Arch.SYS_CLOCK_NANOSLEEP, SyscallRestart.interruptedCall(before, false));
                try (Injector inj = new Injector(t, Gadget.find(pid))) {
                    assertEquals(pid, inj.call(Arch.SYS_GETPID));
                    long at = inj.putString(0, "hello");
                    assertEquals("hello\0", new String(inj.get(0, 6)));
                    assertTrue(at > 0);
                }
                assertEquals(maskBefore, t.sigmask());
                Regs after = t.regs();
                assertEquals(SyscallRestart.forResume(before, false), after);
                t.detach(false);
                return null;
            });
            assertEquals(mapsBefore, Files.readString(Path.of("/proc/" + pid + "/maps")));
            Thread.sleep(50);
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            assertTrue(stat.contains(") S "), stat);
        } finally {
            dev.amber.sys.Syscall.raw(Arch.SYS_KILL, pid, 9, 0);
            Ptrace.waitFor(pid, 0);
        }
    }
}
