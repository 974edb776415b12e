package dev.amber.cli;

import dev.amber.image.ImageException;
import dev.amber.image.ImageReader;
import dev.amber.restart.RestartResult;
import dev.amber.restart.Restarter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "restart", description = "Bring a process back from an image directory, with the same PID.")
final class RestartCommand implements Callable<Integer> {
    @Option(names = {"-D", "--dir"}, required = true, paramLabel = "DIR",
            description = "image directory, or - to read an image stream from standard input")
    Path dir;

    @Option(names = "--wait", description = "stay until the restored process ends, and exit with its status")
    boolean waitForExit;

    @Option(names = "--frozen", description = "leave the restored process stopped (resume it with kill -CONT)")
    boolean frozen;

    @Option(names = "--shell-job", description = "restart a job checkpointed with --shell-job on this terminal (standard"
            + " input's), in the foreground with Amber, and wait for it like --wait")
    boolean shellJob;

    @Option(names = "--new-pidns", description = "restart the tree in a new PID namespace (with its own /proc), where"
            + " it gets its old pids even if they are taken here; its root runs under a small init of Amber's")
    boolean newPidns;

    @Override
    public Integer call() {
        if (!Privileges.sufficient()) {
            return Main.FAILED;
        }
        boolean stream = dir.toString().equals("-");
        if (shellJob && stream) {
            System.err.println("amber: --shell-job takes the terminal from standard input, so the image cannot come"
                    + " from there: restart from an image directory");
            return Main.USAGE;
        }
        Path spooled = null;
        boolean waiting = waitForExit || shellJob;
        Restarter.Running running;
        try {
            if (stream) {
                spooled = StreamSpool.unpack(System.in);
            }
            try (ImageReader image = ImageReader.open(stream ? spooled : dir)) {
                running = new Restarter(image, frozen, shellJob, newPidns).start(waiting);
            }
        } catch (IOException | ImageException e) {
            System.err.println("amber: restart from " + (stream ? "standard input" : dir) + " failed: "
                    + e.getMessage());
            return Main.FAILED;
        } finally {
            StreamSpool.remove(spooled);
        }
        try (running) {
            report(running.result(), stream);
            return waiting ? running.waitFor() : 0;
        } catch (IOException e) {
            System.err.println("amber: waiting for pid " + running.result().pid() + " failed: " + e.getMessage());
            return Main.FAILED;
        }
    }

    private void report(RestartResult r, boolean stream) {
        for (String warning : r.warnings()) {
            System.err.println("amber: warning: " + warning);
        }
        String where = r.hostPid() == r.pid() ? "" : " (pid " + r.hostPid() + " outside its new pid namespace)";
        System.out.printf("restarted pid %d%s from %s in %s%s%n", r.pid(), where, stream ? "standard input" : dir,
                Units.millis(r.wallNanos()), frozen ? "; it is stopped: resume it with kill -CONT " + r.hostPid() : "");
        System.out.flush();
    }
}
