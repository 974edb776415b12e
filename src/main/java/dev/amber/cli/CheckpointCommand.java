package dev.amber.cli;

import dev.amber.checkpoint.Cancellation;
import dev.amber.checkpoint.CheckpointResult;
import dev.amber.checkpoint.Checkpointer;
import dev.amber.checkpoint.Destination;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import dev.amber.checkpoint.RefusedException;
import dev.amber.image.ImageException;
import dev.amber.kind.Refusal;
import dev.amber.kind.TreeDump;
import dev.amber.kind.file.ExternalFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "checkpoint", description = "Save a running process to an image directory.")
final class CheckpointCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "PID", description = "the process to save")
    int pid;

    @Option(names = {"-D", "--dir"}, required = true, paramLabel = "DIR",
            description = "image directory to create, or - to write the image as one stream to standard output")
    Path dir;

    @Option(names = "--kill", description = "end the process once the image is complete and verified")
    boolean kill;

    @Option(names = "--shell-job", description = "the process is a job of a shell: save the terminal it shares with"
            + " the shell (outside the tree) as the shell's, to restart it on the terminal amber restart --shell-job runs in")
    boolean shellJob;

    @Option(names = "--external-unix", paramLabel = "NAME",
            description = "a unix socket name (a path, or @name for an abstract one) whose server is outside the"
                    + " tree: a connection to it is saved as external and connected to that name again at restart"
                    + " (repeatable)")
    List<String> externalUnix = new ArrayList<>();

    @Option(names = "--external-fd", paramLabel = "OBJECT",
            description = "a pipe or socket the tree shares with a process outside it, named as /proc/PID/fd shows"
                    + " it ('pipe:[12345]', 'socket:[678]'): saved as external, to be supplied at restart with"
                    + " --inherit-fd fd[N]:OBJECT (a pipe can also come back closed: restart --external-closed)"
                    + " (repeatable)")
    List<String> externalFds = new ArrayList<>();

    @Override
    public Integer call() {
        for (String x : externalFds) {
            if (!ExternalFiles.nameable(x)) {
                System.err.println("amber: --external-fd '" + x + "': name a pipe or socket as /proc/PID/fd shows it,"
                        + " e.g. 'pipe:[12345]' (a file is reopened by its path; a terminal outside the tree is"
                        + " --shell-job's)");
                return Main.USAGE;
            }
        }
        if (!Privileges.sufficient()) {
            return Main.FAILED;
        }
        Cancellation cancellation = new Cancellation();
        CountDownLatch done = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            cancellation.request();
            try {
                done.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            Progress progress = new Progress();
            boolean stream = dir.toString().equals("-");
            OutputStream stdout = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 20);
            Destination destination = stream ? new Destination.Stream(stdout) : new Destination.Directory(dir);
            TreeDump.Options told = new TreeDump.Options(shellJob, Set.copyOf(externalUnix), Set.copyOf(externalFds));
            CheckpointResult r = new Checkpointer(pid, destination, new Checkpointer.Options(kill, told), cancellation,
                    progress, Version.TOOL).run();
            stdout.flush();
            progress.finish();
            // With the image on standard output, the report goes to standard error.
            String tree = r.processes() > 1 ? " and its " + (r.processes() - 1) + " descendant"
                    + (r.processes() > 2 ? "s" : "") : "";
            (stream ? System.err : System.out).printf("checkpointed pid %d%s to %s: %s of memory, image %s in %s (%s); frozen %s%s%n",
                    pid, tree, destination, Units.bytes(r.pageBytes()), Units.bytes(r.imageBytes()),
                    Units.millis(r.wallNanos()), Units.rate(r.imageBytes(), r.wallNanos()), Units.millis(r.frozenNanos()),
                    kill ? "; " + (tree.isEmpty() ? "pid " + pid : "the tree") + " killed after the image was verified" : "");
            for (String warning : r.warnings()) {
                System.err.println("amber: warning: " + warning);
            }
            return 0;
        } catch (RefusedException e) {
            for (Refusal refusal : e.refusals()) {
                System.err.println(refusal);
            }
            System.err.println("amber: pid " + pid + " was not checkpointed and keeps running as it was");
            return Main.REFUSED;
        } catch (IOException | ImageException e) {
            System.err.println("amber: checkpoint of pid " + pid + " failed: " + e.getMessage());
            return Main.FAILED;
        } finally {
            done.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // Shutting down already: the hook is running and has been let go.
            }
        }
    }
}
