package dev.amber.cli;

import dev.amber.checkpoint.Cancellation;
import dev.amber.checkpoint.CheckpointResult;
import dev.amber.checkpoint.Checkpointer;
import dev.amber.image.ImageReader;
import dev.amber.restart.RestartResult;
import dev.amber.restart.Restarter;
import dev.amber.sys.Arch;
import dev.amber.sys.Ptrace;
import dev.amber.sys.Spawn;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/**
 * The built-in demo: a small counter program is started, checkpointed with --kill, and
 * restarted from its image; it must carry on counting from where it stopped, same PID, no gap.
 */
@Command(name = "demo", description = "Checkpoint, kill and restart a bundled counter program, and show it counting on.")
final class DemoCommand implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
        if (!Privileges.sufficient()) {
            return Main.FAILED;
        }
        Path work = Files.createTempDirectory("amber-demo-");
        Path counter = build(work);
        Path log = work.resolve("counter.log");
        int pid = new Spawn(counter.toString(), List.of("counter")).input(0, "/dev/null")
                .output(1, log.toString(), true).output(2, log.toString(), true).start();
        boolean restored = false;
        try {
            System.out.println("amber demo: a counter program is checkpointed, killed and restarted");
            System.out.println("  started " + counter + " as pid " + pid + ", counting into " + log);
            Thread.sleep(1600);
            Path image = work.resolve("image");
            CheckpointResult c = new Checkpointer(pid, new dev.amber.checkpoint.Destination.Directory(image),
                    new Checkpointer.Options(true, dev.amber.kind.TreeDump.Options.DEFAULT), new Cancellation(),
                    (phase, d, t) -> { }, Version.TOOL).run();
            List<Long> before = numbers(log);
            System.out.println("  counted:        " + join(before));
            System.out.printf("  checkpointed pid %d to %s (%s of memory, frozen %s) and killed it%n", pid, image,
                    Units.bytes(c.pageBytes()), Units.millis(c.frozenNanos()));
            System.out.println("  pid " + pid + " is " + (Files.exists(Path.of("/proc/" + pid)) ? "still there!" : "gone"));
            Thread.sleep(500);
            RestartResult r;
            try (ImageReader reader = ImageReader.open(image)) {
                r = new Restarter(reader, Restarter.Options.DEFAULT).run();
            }
            restored = true;
            System.out.printf("  restarted pid %d from the image in %s%n", r.pid(), Units.millis(r.wallNanos()));
            Thread.sleep(1300);
            List<Long> all = numbers(log);
            System.out.println("  counting on:    " + join(all.subList(before.size(), all.size())));
            boolean ok = r.pid() == pid && all.size() > before.size() + 2 && consecutive(all);
            System.out.println(ok ? "demo passed: pid " + pid + " came back and counted on from " + before.getLast()
                    + " to " + all.getLast() + " with no gap and no repeat"
                    : "demo FAILED: the count did not continue as it should (see " + log + ")");
            if (ok) {
                System.out.println("  the image is kept: amber show " + image);
            }
            return ok ? 0 : Main.FAILED;
        } catch (dev.amber.checkpoint.RefusedException e) {
            e.refusals().forEach(refusal -> System.err.println(refusal));
            System.err.println("amber: demo failed: the counter could not be checkpointed");
            return Main.FAILED;
        } catch (IOException | dev.amber.image.ImageException e) {
            System.err.println("amber: demo failed: " + e.getMessage());
            return Main.FAILED;
        } finally {
            Syscall.raw(Arch.SYS_KILL, pid, 9, 0);
            try {
                Ptrace.waitFor(pid, 0);
            } catch (IOException e) {
                // Already reaped by the checkpoint (it was killed there and not restored).
            }
            if (!restored) {
                System.err.println("  (work files kept in " + work + ")");
            }
        }
    }

    /** Compiles the bundled counter with gcc into {@code work}. */
    private static Path build(Path work) throws IOException {
        Path source = work.resolve("counter.c");
        try (InputStream in = DemoCommand.class.getResourceAsStream("/demo/counter.c")) {
            Files.copy(in, source);
        }
        Path binary = work.resolve("counter");
        String gcc = Files.exists(Path.of("/usr/bin/gcc")) ? "/usr/bin/gcc" : null;
        if (gcc == null) {
            throw new IOException("the demo needs gcc to build its counter: install it (apt-get install gcc)");
        }
        int pid = new Spawn(gcc, List.of("gcc", "-O1", "-o", binary.toString(), source.toString()))
                .input(0, "/dev/null").start();
        int status = Ptrace.waitFor(pid, 0);
        if (!Ptrace.exited(status) || Ptrace.exitCode(status) != 0) {
            throw new IOException("gcc could not build the demo counter (status " + status + ")");
        }
        return binary;
    }

    private static List<Long> numbers(Path log) throws IOException {
        return Files.readAllLines(log).stream().filter(s -> !s.isBlank()).map(Long::parseLong).toList();
    }

    private static boolean consecutive(List<Long> all) {
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i) != i + 1) {
                return false;
            }
        }
        return true;
    }

    private static String join(List<Long> numbers) {
        return String.join(" ", numbers.stream().map(String::valueOf).toList());
    }
}
