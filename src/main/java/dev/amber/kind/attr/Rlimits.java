package dev.amber.kind.attr;

import dev.amber.image.proto.Rlimit;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.sys.ErrnoException;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The 16 resource limits, read and set with prlimit64(0, ...) run inside the task. From the tool
 * itself, prlimit64 on another process needs the caller's uids and gids to match the target's
 * or CAP_SYS_RESOURCE; a root amber without that capability (these machines) would get EPERM
 * for any process that changed its ids, and for the puppet once its credentials are restored.
 * A task always may read its own and lower its own; raising a hard limit needs
 * CAP_SYS_RESOURCE of the task itself. {@code struct rlimit64}: u64 cur, u64 max.
 */
final class Rlimits {
    static final int COUNT = 16;
    private static final long RLIM_INFINITY = -1L;
    private static final int NEW_AT = 128, OLD_AT = 160;
    private static final String[] NAMES = {"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK",
            "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
            "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
    /** bash's {@code ulimit} option for each limit, for the remedy. */
    private static final String ULIMIT = "tfdscmunlvxiqerR";

    private Rlimits() {}

    /**
     * Every limit of {@code pid}: from /proc/PID/limits (one read, no injected call), whose 16
     * rows are in resource order with the raw values or "unlimited"; from inside the task if that
     * text is not as expected.
     */
    static List<Rlimit> read(int pid, Injector injector) throws IOException {
        List<Rlimit> parsed = parse(dev.amber.proc.Limits.text(pid));
        return parsed != null ? parsed : read(injector);
    }

    /** The limits in /proc/PID/limits text, or null when it does not have the 16 expected rows. */
    static List<Rlimit> parse(String text) {
        String[] lines = text.split("\n");
        if (lines.length < COUNT + 1 || !lines[0].startsWith("Limit")) {
            return null;
        }
        List<Rlimit> limits = new ArrayList<>(COUNT);
        for (int resource = 0; resource < COUNT; resource++) {
            String line = lines[resource + 1];
            if (line.length() <= 26) {
                return null;
            }
            String[] f = line.substring(26).trim().split("\\s+");
            if (f.length < 2) {
                return null;
            }
            try {
                limits.add(Rlimit.newBuilder().setResource(resource).setSoft(number(f[0])).setHard(number(f[1])).build());
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return limits;
    }

    private static long number(String v) {
        return v.equals("unlimited") ? RLIM_INFINITY : Long.parseUnsignedLong(v);
    }

    static List<Rlimit> read(Injector injector) throws IOException {
        List<Rlimit> limits = new ArrayList<>(COUNT);
        for (int resource = 0; resource < COUNT; resource++) {
            long[] v = get(injector, resource);
            limits.add(Rlimit.newBuilder().setResource(resource).setSoft(v[0]).setHard(v[1]).build());
        }
        return limits;
    }

    static void write(Injector injector, int pid, Rlimit limit) throws IOException {
        int resource = limit.getResource();
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(limit.getSoft()).putLong(limit.getHard());
        long at = injector.put(NEW_AT, b.array());
        long r = injector.call(Arch.SYS_PRLIMIT64, 0, resource, at, 0);
        if (r == -Errno.EPERM) {
            long[] now = get(injector, resource);
            if (Long.compareUnsigned(limit.getHard(), now[1]) > 0) {
                throw new IOException(raiseRefused(pid, resource, now[1], limit.getHard()));
            }
        }
        ErrnoException.check(r, "prlimit64(" + name(resource) + ", soft " + value(limit.getSoft()) + ", hard "
                + value(limit.getHard()) + ")", "in pid " + pid);
    }

    /** The one line a user sees when a saved hard limit is above what the restoring side may set. */
    static String raiseRefused(int pid, int resource, long current, long saved) {
        String option = resource < ULIMIT.length() ? " (ulimit -H -" + ULIMIT.charAt(resource) + " " + value(saved) + ")" : "";
        return "pid " + pid + " rlimit " + name(resource) + ": the saved hard limit " + value(saved)
                + " is above the restoring process's hard limit " + value(current)
                + ", and raising a hard limit needs CAP_SYS_RESOURCE (EPERM): run amber with CAP_SYS_RESOURCE, "
                + "or raise the limit of the shell that runs amber restart" + option;
    }

    static String name(int resource) {
        return resource < NAMES.length ? NAMES[resource] : "rlimit " + resource;
    }

    private static String value(long v) {
        return v == RLIM_INFINITY ? "unlimited" : Long.toUnsignedString(v);
    }

    private static long[] get(Injector injector, int resource) throws IOException {
        injector.check("prlimit64(" + name(resource) + ", NULL, &old)", Arch.SYS_PRLIMIT64, 0, resource, 0,
                injector.scratch() + OLD_AT);
        ByteBuffer b = ByteBuffer.wrap(injector.get(OLD_AT, 16)).order(ByteOrder.LITTLE_ENDIAN);
        return new long[] {b.getLong(0), b.getLong(8)};
    }
}
