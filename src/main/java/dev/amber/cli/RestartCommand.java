package dev.amber.cli;

import dev.amber.image.ImageException;
import dev.amber.image.ImageReader;
import dev.amber.kind.TreeRestore;
import dev.amber.kind.file.ExternalFiles;
import dev.amber.restart.RestartResult;
import dev.amber.restart.Restarter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "restart", description = "Bring a process back from an image directory, with the same PID.")
final class RestartCommand implements Callable<Integer> {
    /** --external-closed without an object: every external pipe not given with --inherit-fd. */
    private static final String EVERY = "\0every";

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

    @Option(names = "--inherit-fd", paramLabel = "fd[N]:OBJECT",
            description = "put descriptor N of amber restart in the place of OBJECT, an external pipe or socket of"
                    + " the image (checkpoint --external-fd OBJECT): every descriptor of the tree that referred to it"
                    + " gets that open file (repeatable)")
    List<String> inheritFds = new ArrayList<>();

    @Option(names = "--external-closed", paramLabel = "OBJECT", arity = "0..1", fallbackValue = EVERY,
            description = "make the external pipe OBJECT (without OBJECT: every external pipe not given with"
                    + " --inherit-fd) a pipe whose other end is closed: a read end reads the bytes left in it, then"
                    + " end of file; a write end gets EPIPE and SIGPIPE (repeatable)")
    List<String> externalClosed = new ArrayList<>();

    @Override
    public Integer call() {
        TreeRestore.Options tree;
        try {
            tree = treeOptions();
        } catch (IllegalArgumentException e) {
            System.err.println("amber: " + e.getMessage());
            return Main.USAGE;
        }
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
                running = new Restarter(image, new Restarter.Options(frozen, newPidns, tree)).start(waiting);
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

    private static final Pattern INHERIT = Pattern.compile("fd\\[([0-9]+)\\]:(.+)");

    /** --shell-job, --inherit-fd and --external-closed as the kinds take them; a malformed one is a usage error. */
    private TreeRestore.Options treeOptions() {
        Map<String, Integer> inherit = new LinkedHashMap<>();
        for (String arg : inheritFds) {
            Matcher m = INHERIT.matcher(arg);
            if (!m.matches() || !ExternalFiles.nameable(m.group(2))) {
                throw new IllegalArgumentException("--inherit-fd '" + arg + "': expected fd[N]:OBJECT, N a descriptor"
                        + " of amber restart and OBJECT an external pipe or socket of the image, e.g."
                        + " fd[3]:pipe:[12345]");
            }
            Integer before = inherit.put(m.group(2), Integer.parseInt(m.group(1)));
            if (before != null) {
                throw new IllegalArgumentException("--inherit-fd: " + m.group(2) + " is given twice (fd " + before
                        + " and fd " + m.group(1) + "): one descriptor takes its place");
            }
        }
        Set<String> closed = new HashSet<>();
        boolean every = false;
        for (String name : externalClosed) {
            if (name.equals(EVERY)) {
                every = true;
            } else if (!name.startsWith("pipe:") || !ExternalFiles.nameable(name)) {
                throw new IllegalArgumentException("--external-closed '" + name + "': expected an external pipe of"
                        + " the image, e.g. pipe:[12345] (only a pipe can come back closed)");
            } else if (inherit.containsKey(name)) {
                throw new IllegalArgumentException("--external-closed " + name + ": it is given with --inherit-fd too");
            } else {
                closed.add(name);
            }
        }
        return new TreeRestore.Options(shellJob, inherit, closed, every);
    }
}
