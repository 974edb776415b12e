package dev.amber.restart;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Process;
import dev.amber.kind.TreeRestore;
import dev.amber.proc.FdInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a restart checks about the image's external objects (saved with checkpoint --external-fd)
 * before it creates anything: each has something to take its place (--inherit-fd fd[N]:NAME, or a
 * pipe --external-closed), every such choice names an external object of the image, and each
 * descriptor given is open in amber restart, is not one of the JVM's own files, and can be used
 * the way the tree used the object (a pipe's write end needs a descriptor open for writing; a
 * socket needs a socket).
 */
final class ExternalChecks {
    private static final int O_ACCMODE = 3, O_RDONLY = 0, O_WRONLY = 1;

    /** One descriptor of the tree on an external object. */
    private record Use(int pid, Descriptor d) {
        String where() {
            return "pid " + pid + " fd " + d.getFd();
        }

        boolean writes() {
            return d.hasPipe() ? d.getPipe().getWriteEnd() || d.getPipe().getReadWrite() : true;
        }

        boolean reads() {
            return d.hasPipe() ? !d.getPipe().getWriteEnd() : true;
        }
    }

    private ExternalChecks() {}

    static void check(List<Process> processes, TreeRestore.Options choices) throws IOException {
        Map<String, List<Use>> externals = new LinkedHashMap<>();
        for (Process p : processes) {
            for (Descriptor d : p.getDescriptorsList()) {
                if (!d.getExternal().isEmpty()) {
                    externals.computeIfAbsent(d.getExternal(), k -> new ArrayList<>()).add(new Use(p.getPid(), d));
                }
            }
        }
        String known = externals.isEmpty() ? "it has none" : "its external objects: " + String.join(", ",
                externals.keySet());
        for (var e : choices.inheritFds().entrySet()) {
            if (!externals.containsKey(e.getKey())) {
                throw new IOException("--inherit-fd fd[" + e.getValue() + "]:" + e.getKey() + ": the image has no"
                        + " external " + e.getKey() + " (" + known + ")");
            }
        }
        for (String name : choices.externalClosed()) {
            if (!externals.containsKey(name)) {
                throw new IOException("--external-closed " + name + ": the image has no external " + name + " ("
                        + known + ")");
            }
        }
        for (var e : externals.entrySet()) {
            String name = e.getKey();
            Use first = e.getValue().getFirst();
            Integer fd = choices.inheritFds().get(name);
            if (fd != null) {
                supplied(fd, name, e.getValue());
            } else if (!choices.closed(name)) {
                throw new IOException(first.where() + ": " + name + " is external (declared at checkpoint): supply it"
                        + " with --inherit-fd 'fd[N]:" + name + "', N a descriptor of amber restart"
                        + (first.d().hasPipe() ? ", or let it come back as a pipe whose other end is closed with"
                                + " --external-closed" : ""));
            } else if (!first.d().hasPipe()) {
                throw new IOException(first.where() + ": " + name + " is external and only a pipe can come back"
                        + " closed: supply it with --inherit-fd 'fd[N]:" + name + "'");
            }
        }
    }

    /** Descriptor {@code fd} of amber restart (this JVM), given for {@code name}: usable as the tree used it. */
    private static void supplied(int fd, String name, List<Use> uses) throws IOException {
        String what = "--inherit-fd fd[" + fd + "]:" + name + ": ";
        int self = (int) ProcessHandle.current().pid();
        String link;
        try {
            link = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException e) {
            throw new IOException(what + "amber restart has no descriptor " + fd + ": open one for it as fd " + fd
                    + " (in a shell: " + fd + ">&1, " + fd + "<FILE, ...)");
        }
        if (ownFile(link)) {
            throw new IOException(what + "descriptor " + fd + " of amber restart is one its JVM opened itself (" + link
                    + "), not one it was given: open one for it as fd " + fd);
        }
        Use first = uses.getFirst();
        if (!first.d().hasPipe() && !link.startsWith("socket:")) {
            throw new IOException(what + first.where() + " was a socket but descriptor " + fd + " of amber restart is "
                    + link + ": give it a socket");
        }
        int access = FdInfo.read(self, fd).flags() & O_ACCMODE;
        for (Use u : uses) {
            if (u.writes() && access == O_RDONLY || u.reads() && access == O_WRONLY) {
                throw new IOException(what + u.where() + " " + (u.writes() ? "wrote to" : "read from") + " " + name
                        + " but descriptor " + fd + " of amber restart (" + link + ") is open "
                        + (access == O_RDONLY ? "read-only" : "write-only") + ": give it one open for "
                        + (u.writes() ? "writing" : "reading"));
            }
        }
    }

    /**
     * A file of the JVM's own (its modules image, a jar of the class path): descriptors 3, 4...
     * are these when amber restart was given none, and must not be plugged into the tree.
     */
    private static boolean ownFile(String link) {
        if (!link.startsWith("/")) {
            return false;
        }
        if (link.startsWith(Path.of(System.getProperty("java.home")).toAbsolutePath().toString() + "/")) {
            return true;
        }
        for (String entry : System.getProperty("java.class.path", "").split(":")) {
            try {
                if (!entry.isEmpty() && Path.of(entry).toRealPath().toString().equals(link)) {
                    return true;
                }
            } catch (IOException e) {
                // Not there: not what the descriptor is.
            }
        }
        return false;
    }
}
