package dev.amber.kind.tty;

import dev.amber.image.proto.Terminal;
import dev.amber.kind.TreeRestore;
import dev.amber.sys.Tty;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The terminal {@code amber restart --shell-job} runs in (its standard input's), which takes the
 * place of the shell's terminal a job was checkpointed on. Its termios is set to the job's once
 * (a full-screen program had its terminal in raw mode); its window size stays the user's. Every
 * descriptor of the shell's terminal is opened anew on it.
 */
record ShellTerminal(String path) {
    private static final Object KEY = "tty: shell terminal";

    static ShellTerminal hold(TreeRestore tree, Terminal saved, String who) throws IOException {
        return tree.hold(KEY, () -> {
            if (!tree.shellJob()) {
                throw new IOException(who + ": the shell's terminal" + (saved.getPath().isEmpty() ? "" : " ("
                        + saved.getPath() + " at checkpoint)") + " belongs to a job"
                        + " checkpointed with --shell-job: restart it with --shell-job, from the terminal it should run in");
            }
            if (!isTerminal()) {
                throw new IOException("--shell-job: standard input is not a terminal: run amber restart --shell-job"
                        + " in the terminal the job should use");
            }
            String path = Files.readSymbolicLink(Path.of("/proc/self/fd/0")).toString();
            if (!saved.getShellTermios().isEmpty()) {
                Tty.set(0, Termios.TCSETS2, saved.getShellTermios().toByteArray(), "TCSETS2 " + path);
            }
            return new ShellTerminal(path);
        });
    }

    private static boolean isTerminal() {
        try {
            Tty.get(0, Termios.TCGETS2, Termios.SIZE, "TCGETS2");
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Amber's new descriptor of the terminal with the saved status flags, kept until the restart ends. */
    int open(int flags, TreeRestore tree) throws IOException {
        return tree.keep(Tty.open(path, PtyState.openFlags(flags) | PtyState.O_NOCTTY | PtyState.O_CLOEXEC));
    }
}
