package dev.amber.kind.nsfd;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.NamespaceFd;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A descriptor of a namespace (an open {@code /proc/PID/ns/TYPE} file, as setns(2) takes them);
 * its link reads {@code TYPE:[INODE]}. Amber restores processes into the namespaces they were
 * in, so a namespace the process itself is in (or gives its children: pid_for_children,
 * time_for_children) is there again at restart, and the puppet opens its own /proc/self/ns file
 * of that name. A namespace the process is not in (kept alive by the descriptor alone, or another
 * process's) is refused: Amber does not make namespaces yet.
 */
public final class NamespaceFdKind implements FdKind {
    private static final Pattern LINK = Pattern.compile("(cgroup|ipc|mnt|net|pid|time|user|uts):\\[(\\d+)\\]");
    private static final int O_ACCMODE = 3, O_CLOEXEC = 02000000, AT_FDCWD = -100;

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.NAMESPACE;
    }

    @Override
    public boolean handles(String target) {
        return LINK.matcher(target).matches();
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        Matcher m = LINK.matcher(target);
        if (!m.matches()) {
            throw new IllegalStateException(target);
        }
        String type = m.group(1);
        for (String name : names(type)) {
            Path own = Path.of("/proc/" + ctx.pid() + "/ns/" + name);
            if (Files.exists(own) && Files.readSymbolicLink(own).toString().equals(target)) {
                d.setNamespace(NamespaceFd.newBuilder().setName(name).setInode(Long.parseLong(m.group(2)))
                        .setFlags(info.flags()));
                return;
            }
        }
        ctx.refuse("fd " + fd, "namespace " + target, "not one the process is in: namespaces other than the"
                + " process's own are not supported yet");
    }

    /** The /proc/PID/ns names that can hold a namespace of {@code type}. */
    private static List<String> names(String type) {
        return switch (type) {
            case "pid" -> List.of("pid", "pid_for_children");
            case "time" -> List.of("time", "time_for_children");
            default -> List.of(type);
        };
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        NamespaceFd ns = d.getNamespace();
        String path = "/proc/self/ns/" + ns.getName();
        String what = "fd " + d.getFd() + " " + path;
        long fd = inj.check("open " + what, Arch.SYS_OPENAT, AT_FDCWD, inj.putString(0, path),
                ns.getFlags() & ~O_CLOEXEC, 0);
        String now = Files.readSymbolicLink(Path.of("/proc/" + ctx.pid() + "/fd/" + fd)).toString();
        if (!now.endsWith(":[" + ns.getInode() + "]")) {
            throw new IOException("pid " + ctx.pid() + " " + what + ": the namespace is " + now + " now, was "
                    + ns.getName() + ":[" + ns.getInode() + "] (restarted after the namespace ended, or on another"
                    + " host): not supported yet");
        }
        return fd;
    }
}
