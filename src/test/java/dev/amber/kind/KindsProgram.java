package dev.amber.kind;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.amber.sys.Arch;
import dev.amber.sys.Ptrace;
import dev.amber.sys.Spawn;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The target program src/test/c/kinds/kinds.c, built with gcc into target/kinds-test once per
 * JVM, and one running copy of it: started with posix_spawn, ready once it printed READY, ended
 * with SIGTERM (it then checks its own state and prints PASS or FAIL).
 */
final class KindsProgram implements AutoCloseable {
    private static final Path DIR = Path.of("target", "kinds-test");
    private static Path binary;

    private final int pid;
    private final Path output;
    private boolean reaped;

    private KindsProgram(int pid, Path output) {
        this.pid = pid;
        this.output = output;
    }

    static synchronized Path binary() throws Exception {
        if (binary == null) {
            Files.createDirectories(DIR);
            Path out = DIR.resolve("kinds").toAbsolutePath();
            Path log = DIR.resolve("kinds.gcc.log").toAbsolutePath();
            Files.deleteIfExists(log);
            int gcc = new Spawn("/usr/bin/gcc", List.of("gcc", "-O1", "-g", "-Wall", "-Isrc/test/c", "-o", out.toString(),
                    "src/test/c/kinds/kinds.c", "src/test/c/amtest.c"))
                    .input(0, "/dev/null").output(1, log.toString(), true).output(2, log.toString(), true).start();
            int status = Ptrace.waitFor(gcc, 0);
            assertTrue(Ptrace.exited(status) && Ptrace.exitCode(status) == 0, "gcc kinds.c: " + Files.readString(log));
            binary = out;
        }
        return binary;
    }

    /** Starts {@code kinds MODE} and waits until it is ready. */
    static KindsProgram start(String mode) throws Exception {
        Path program = binary();
        Path output = Files.createTempFile(Files.createDirectories(DIR).toAbsolutePath(), mode + "-", ".out");
        int pid = new Spawn(program.toString(), List.of("kinds", mode)).input(0, "/dev/null")
                .output(1, output.toString(), true).output(2, output.toString(), true).start();
        KindsProgram p = new KindsProgram(pid, output);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!p.output().contains("READY\n")) {
            if (System.nanoTime() > deadline || Ptrace.waitFor(pid, Ptrace.WNOHANG) != -1) {
                p.reaped = true;
                p.close();
                throw new AssertionError("kinds " + mode + " did not get ready: " + p.output());
            }
            java.lang.Thread.sleep(10);
        }
        return p;
    }

    int pid() {
        return pid;
    }

    String output() throws IOException {
        return Files.readString(output);
    }

    /** The addresses the program printed on its {@code ADDR name=0x... } line. */
    Map<String, Long> addresses() throws IOException {
        Map<String, Long> out = new LinkedHashMap<>();
        String line = output().lines().filter(l -> l.startsWith("ADDR ")).findFirst().orElseThrow();
        for (String field : line.substring(5).split(" ")) {
            String[] kv = field.split("=");
            out.put(kv[0], kv[1].equals("(nil)") ? 0 : Long.parseUnsignedLong(kv[1].substring(2), 16));
        }
        return out;
    }

    /** Sends SIGTERM, waits for the exit, asserts exit status 0 and returns the output. */
    String terminate() throws Exception {
        Syscall.raw(Arch.SYS_KILL, pid, 15, 0);
        int status = Ptrace.waitFor(pid, 0);
        reaped = true;
        String out = output();
        assertTrue(Ptrace.exited(status), "kinds pid " + pid + " did not exit: status 0x" + Integer.toHexString(status) + ": " + out);
        assertEquals(0, Ptrace.exitCode(status), out);
        return out;
    }

    @Override
    public void close() throws Exception {
        if (!reaped) {
            Syscall.raw(Arch.SYS_KILL, pid, 9, 0);
            Ptrace.waitFor(pid, 0);
            reaped = true;
        }
    }
}
