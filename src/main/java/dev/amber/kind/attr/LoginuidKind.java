package dev.amber.kind.attr;

import dev.amber.image.proto.Thread;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * The audit login uid, {@code /proc/PID/task/TID/loginuid} (CONFIG_AUDIT): which user logged in,
 * kept across su and setuid; each task has its own, inherited at clone; 4294967295 when unset.
 * Restored before the credentials: the kernel (audit_set_loginuid) lets a task change its own
 * only, and once set only with CAP_AUDIT_CONTROL, which a credentials change may drop. The
 * puppet's threads inherited Amber's; a thread's is written only when that differs. The audit
 * session id cannot be set: the kernel numbers a new one on every write.
 */
public final class LoginuidKind implements ProcessKind {
    private static final int AT_FDCWD = -100, O_WRONLY = 1, O_CLOEXEC = 02000000, PATH_AT = 0, VALUE_AT = 64;

    @Override
    public String name() {
        return "loginuid";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        for (int i = 0; i < ctx.tasks().size(); i++) {
            read(ctx.pid(), ctx.tasks().get(i).tid()).ifPresent(ctx.threads().get(i)::setLoginuid);
        }
    }

    /** The login uid of task {@code tid} of {@code pid}, empty when the kernel has no audit. */
    private static OptionalInt read(int pid, int tid) throws IOException {
        Path file = Path.of("/proc", Integer.toString(pid), "task", Integer.toString(tid), "loginuid");
        try {
            return OptionalInt.of(Integer.parseUnsignedInt(Files.readString(file).strip()));
        } catch (NoSuchFileException e) {
            return OptionalInt.empty();
        } catch (NumberFormatException e) {
            throw new IOException(file + ": not a number: " + e.getMessage(), e);
        }
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        for (int i = 0; i < ctx.tasks().size(); i++) {
            Thread saved = ctx.process().getThreads(i);
            if (!saved.hasLoginuid()) {
                continue;
            }
            String value = Integer.toUnsignedString(saved.getLoginuid());
            OptionalInt now = read(ctx.pid(), ctx.tasks().get(i).tid());
            if (now.isEmpty()) {
                throw new IOException("pid " + ctx.process().getPid() + " thread " + saved.getTid() + ": loginuid "
                        + value + " saved, but this kernel has no /proc/PID/loginuid (no audit support): restart on"
                        + " a kernel with CONFIG_AUDIT");
            }
            if (now.getAsInt() != saved.getLoginuid()) {
                write(ctx.tasks().get(i).injector(), "pid " + ctx.process().getPid() + " thread " + saved.getTid()
                        + ": loginuid " + value, value);
            }
        }
    }

    /** Opened and written by the thread itself: the kernel takes a write from that task only. */
    private static void write(Injector inj, String what, String value) throws IOException {
        long fd = inj.check("open /proc/thread-self/loginuid for " + what, Arch.SYS_OPENAT, AT_FDCWD,
                inj.putString(PATH_AT, "/proc/thread-self/loginuid"), O_WRONLY | O_CLOEXEC);
        byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
        long written = inj.call(Arch.SYS_WRITE, fd, inj.put(VALUE_AT, bytes), bytes.length);
        inj.check("close /proc/thread-self/loginuid", Arch.SYS_CLOSE, fd);
        if (written == -Errno.EPERM) {
            throw new IOException(what + ": the kernel refused to set it (EPERM): changing a set login uid needs"
                    + " CAP_AUDIT_CONTROL, and none once audit's loginuid_immutable feature is on: restart from a"
                    + " process whose login uid is unset or already " + value);
        }
        dev.amber.sys.ErrnoException.check(written, "write /proc/thread-self/loginuid", what);
    }
}
