package dev.amber.kind.attr;

import dev.amber.image.proto.Attributes;
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
 * The audit login uid, {@code /proc/PID/loginuid} (CONFIG_AUDIT): which user logged in, kept
 * across su and setuid, inherited by children; 4294967295 when unset. {@link AttributesKind}
 * saves it with the other attributes; it is restored here, before the credentials, since the
 * kernel (audit_set_loginuid) lets a task change its own only, and once set only with
 * CAP_AUDIT_CONTROL, which a credentials change may drop. The puppet inherited Amber's; it is
 * written only when that differs. The audit session id cannot be set: the kernel numbers a new
 * one on every write.
 */
public final class LoginuidKind implements ProcessKind {
    private static final int AT_FDCWD = -100, O_WRONLY = 1, O_CLOEXEC = 02000000, PATH_AT = 0, VALUE_AT = 64;

    @Override
    public String name() {
        return "loginuid";
    }

    /** Saved by {@link AttributesKind}. */
    @Override
    public void dump(DumpContext ctx) {
    }

    /** The login uid of {@code pid}, empty when the kernel has no audit. */
    static OptionalInt read(int pid) throws IOException {
        return read(Path.of("/proc", Integer.toString(pid), "loginuid"));
    }

    private static OptionalInt read(Path file) throws IOException {
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
        Attributes a = ctx.process().getAttributes();
        if (!a.hasLoginuid()) {
            return;
        }
        String saved = Integer.toUnsignedString(a.getLoginuid());
        OptionalInt now = read(ctx.pid());
        if (now.isEmpty()) {
            throw new IOException("pid " + ctx.process().getPid() + ": loginuid " + saved + " saved, but this kernel"
                    + " has no /proc/PID/loginuid (no audit support): restart on a kernel with CONFIG_AUDIT");
        }
        // Each task has its own (threads inherit it at clone): every thread gets the saved one.
        for (var task : ctx.tasks()) {
            OptionalInt has = read(Path.of("/proc", Integer.toString(ctx.pid()), "task", Integer.toString(task.tid()),
                    "loginuid"));
            if (has.isPresent() && has.getAsInt() != a.getLoginuid()) {
                write(task.injector(), ctx.process().getPid(), saved);
            }
        }
    }

    /** Opened and written by the thread itself: the kernel takes a write from that task only. */
    private static void write(Injector inj, int pid, String value) throws IOException {
        String what = "pid " + pid + ": loginuid " + value;
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
