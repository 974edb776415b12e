package dev.amber.cli;

import dev.amber.sys.Arch;
import dev.amber.sys.Spawn;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The training run behind the launcher's ahead-of-time cache: the JVM records which classes a
 * checkpoint, a restart and a show load and link, and the profiles of their methods, into
 * target/amber.aot, so that every later start skips that work. It does what a user does, through
 * the same command line code: a small tree (a shell with two children and a pipe between them) is
 * checkpointed and left running, checkpointed again and killed, restarted, and its image shown.
 */
@Command(name = "train", hidden = true, description = "the training run for the ahead-of-time cache (the launcher runs it)")
final class TrainCommand implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
        if (!Privileges.sufficient()) {
            return Main.FAILED;
        }
        Path work = Files.createTempDirectory("amber-train-");
        Path out = work.resolve("out");
        int pid = new Spawn("/bin/sh", List.of("sh", "-c", "sleep 1000 | cat")).input(0, "/dev/null")
                .output(1, out.toString(), true).output(2, out.toString(), true).ownProcessGroup(true).start();
        List<Integer> tree = List.of(pid);
        try {
            tree = settle(pid);
            String p = Integer.toString(pid);
            int status = run("checkpoint", p, "-D", work.resolve("running").toString());
            status |= run("checkpoint", p, "-D", work.resolve("killed").toString(), "--kill");
            status |= run("restart", "-D", work.resolve("killed").toString());
            status |= run("show", work.resolve("killed").toString());
            return status == 0 ? 0 : Main.FAILED;
        } finally {
            for (int t : tree) {
                Syscall.raw(Arch.SYS_KILL, t, 9, 0);
            }
            reap(pid);
            delete(work);
        }
    }

    private static int run(String... args) {
        return new CommandLine(new Main()).execute(args);
    }

    /** The shell's pids once it has started both children (the pipeline), for at most 2 s. */
    private static List<Integer> settle(int shell) throws IOException, InterruptedException {
        Path children = Path.of("/proc/" + shell + "/task/" + shell + "/children");
        for (int i = 0; i < 200; i++) {
            String text = Files.readString(children).trim();
            if (text.split(" ").length >= 2) {
                return Stream.concat(Stream.of(shell), Stream.of(text.split(" ")).map(Integer::parseInt)).toList();
            }
            Thread.sleep(10);
        }
        throw new IOException("the training shell did not start its pipeline");
    }

    private static void reap(int pid) {
        try {
            dev.amber.sys.Ptrace.waitFor(pid, 0);
        } catch (IOException e) {
            // Reaped already (checkpoint --kill ends it; the restarted one is not our child).
        }
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
