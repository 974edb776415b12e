package dev.amber.kind.file;

import dev.amber.image.proto.Descriptor;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKinds;
import dev.amber.kind.Refusal;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TreeRestore;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Objects declared external at checkpoint ({@code --external-fd pipe:[12345]}): a pipe or socket
 * the tree shares with a process outside it (the shell, CI runner or supervisor that started it),
 * which a new tree could not be joined to again. Each open file description of the tree on such an
 * object is saved by its name only; a pipe also keeps its own record, so that a restart can make it
 * as a pipe whose other end is closed. At restart one descriptor of amber restart's own takes its
 * place ({@code --inherit-fd fd[N]:NAME}) in every process and at every descriptor that referred
 * to it; those that shared one open file description (dup'ed, inherited across fork) are copies
 * of the first, as always (kind.file.FileKind).
 */
public final class ExternalFiles {
    /** The names that can be declared: what /proc/PID/fd shows for an anonymous pipe or a socket. */
    private static final Pattern NAME = Pattern.compile("(pipe|socket):\\[[0-9]+\\]");

    /** The declared names a descriptor of the tree referred to, for the warning about the others. */
    private final Set<String> seen = new HashSet<>();

    private ExternalFiles() {}

    /** Whether {@code name} is something --external-fd and --inherit-fd can name. */
    public static boolean nameable(String name) {
        return NAME.matcher(name).matches();
    }

    /** Whether the descriptor whose link reads {@code target} was declared external. */
    static boolean declared(DumpContext ctx, String target) {
        Set<String> declared = ctx.tree().options().externalFds();
        if (declared.isEmpty()) {
            return false;
        }
        ExternalFiles s = ctx.tree().cached(ExternalFiles.class, () -> {
            ExternalFiles made = new ExternalFiles();
            ctx.tree().atEnd(() -> made.unmatched(ctx));
            return made;
        });
        if (!declared.contains(target)) {
            return false;
        }
        s.seen.add(target);
        return true;
    }

    /** A declared name no descriptor of the tree refers to: most likely a typing mistake. */
    private List<Refusal> unmatched(DumpContext ctx) {
        Set<String> missing = new TreeSet<>(ctx.tree().options().externalFds());
        missing.removeAll(seen);
        missing.forEach(n -> ctx.tree().warn("--external-fd '" + n + "': no descriptor of the tree refers to it"));
        return List.of();
    }

    /**
     * Makes the external descriptor {@code d} in the puppet and returns its number: a copy of
     * amber restart's descriptor given with --inherit-fd (the same open file: its flags and offset
     * are the supplier's), or with --external-closed the saved pipe end, made as a pipe of the
     * tree whose other end Amber closes when the restart ends.
     */
    static long restore(RestoreContext ctx, Descriptor d) throws IOException {
        TreeRestore.Options choice = ctx.tree().options();
        Integer supplied = choice.inheritFds().get(d.getExternal());
        if (supplied != null) {
            return TreeRestore.pullFromAmber(ctx.injector(), supplied);
        }
        if (choice.closed(d.getExternal()) && d.hasPipe()) {
            return FdKinds.of(d).restore(ctx, d);
        }
        // The restart's checks refuse this before anything is made (restart.ExternalChecks).
        throw new IllegalStateException("pid " + ctx.process().getPid() + " fd " + d.getFd() + ": external "
                + d.getExternal() + " with nothing to take its place");
    }
}
