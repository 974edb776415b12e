package dev.amber.kind.lock;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.FileLock;
import dev.amber.kind.DumpContext;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * File locks held through a descriptor, as its fdinfo {@code lock:} lines show them:
 *
 * <pre>
 * lock:	1: FLOCK  ADVISORY  WRITE 19731 fe:00:2147730 0 EOF
 * lock:	1: POSIX  ADVISORY  WRITE 19731 fe:00:2147746 10 29
 * lock:	2: POSIX  ADVISORY  READ 19731 fe:00:2147746 100 EOF
 * lock:	1: OFDLCK ADVISORY  WRITE -1 fe:00:2147780 0 4
 * lock:	1: LEASE  ACTIVE    READ 19731 fe:00:2147790 0 EOF
 * </pre>
 *
 * fdinfo lists a lock under the open file description it was taken through ({@code fl_file}), and
 * only when its owner is that description (flock, OFD) or the process's descriptor table (POSIX):
 * locks of other processes on the same file never appear, so what is saved is the process's own.
 * The range is inclusive; {@code EOF} is "to the end, however far". A lease (F_SETLEASE) belongs
 * to its open file description too; Amber never opens a leased file, which would break it.
 *
 * <p>At restart they are taken again by the puppet itself, so that POSIX locks belong to its
 * descriptor table and flock/OFD locks to the new open file descriptions. POSIX locks go when the
 * process closes <em>any</em> descriptor of the file, and restoring descriptors closes temporary
 * ones: every lock is taken after the whole table is in place. A lock another process holds in
 * conflict fails the restart, naming the holder from {@code /proc/locks}.
 */
public final class FileLocks {
    
    private static final int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, F_SETLK = 6, F_OFD_SETLK = 37, F_SETLEASE = 1024;
    private static final short F_RDLCK = 0, F_WRLCK = 1, SEEK_SET = 0;
    private static final int EAGAIN = 11, EACCES = 13;
    static final String FLOCK = "FLOCK", POSIX = "POSIX", OFD = "OFDLCK", LEASE = "LEASE";

    private FileLocks() {}

    /** Saves the locks and lease of descriptor {@code fd} into {@code d}; refuses a lease being broken and other kinds. */
    public static void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) {
        for (String line : info.values("lock")) {
            FileLock lock = parse(line);
            if (lock != null && lock.getKind().equals(LEASE) && !lock.getLeaseBreakingTo().isEmpty()) {
                // A lease being broken: it had the type its descriptor's access mode allows.
                lock = lock.toBuilder().setWrite((info.flags() & 3) != 0).build();
            }
            if (lock == null) {
                ctx.refuse("fd " + fd, "file lock on " + target, "\"" + line.strip() + "\": only flock, POSIX and"
                        + " OFD locks and leases are supported");
                continue;
            }
            d.addLocks(lock);
        }
    }

    /**
     * One fdinfo {@code lock:} value ({@code "1: POSIX  ADVISORY  WRITE 19731 fe:00:2147746 10 29"}),
     * or null for a kind that is not FLOCK, POSIX or OFDLCK.
     */
    static FileLock parse(String value) {
        String[] t = value.strip().split("\\s+");
        if (t.length == 8 && t[1].equals(LEASE) && t[2].equals("BREAKING") && (t[3].equals("UNLCK") || t[3].equals("READ"))) {
            return FileLock.newBuilder().setKind(LEASE).setLeaseBreakingTo(t[3]).setEnd(-1).build();
        }
        if (t.length < 8 || !(t[1].equals(FLOCK) || t[1].equals(POSIX) || t[1].equals(OFD)
                || t[1].equals(LEASE) && t[2].equals("ACTIVE")) || !(t[3].equals("READ") || t[3].equals("WRITE"))) {
            return null;
        }
        return FileLock.newBuilder()
                .setKind(t[1])
                .setWrite(t[3].equals("WRITE"))
                .setStart(Long.parseLong(t[6]))
                .setEnd(t[7].equals("EOF") ? -1 : Long.parseLong(t[7]))
                .build();
    }

    /** Whether descriptor {@code d} holds a lease (which makes the process the file's owner for signals). */
    public static boolean leased(Descriptor d) {
        return d.getLocksList().stream().anyMatch(l -> l.getKind().equals(LEASE));
    }

    /** Takes every saved lock of the process again, once all its descriptors are in place. */
    public static void restore(RestoreContext ctx) throws IOException {
        for (Descriptor d : ctx.process().getDescriptorsList()) {
            for (FileLock lock : d.getLocksList()) {
                take(ctx, d.getFd(), lock);
            }
        }
    }

    private static void take(RestoreContext ctx, int fd, FileLock lock) throws IOException {
        Injector inj = ctx.injector();
        long result;
        if (lock.getKind().equals(FLOCK)) {
            result = inj.call(Arch.SYS_FLOCK, fd, (lock.getWrite() ? LOCK_EX : LOCK_SH) | LOCK_NB);
        } else if (lock.getKind().equals(LEASE)) {   // held by the open file description, like flock
            result = inj.call(Arch.SYS_FCNTL, fd, F_SETLEASE, lock.getWrite() ? F_WRLCK : F_RDLCK);
            if (result == 0 && !lock.getLeaseBreakingTo().isEmpty()) {
                Leases.breakAgain(ctx, fd, lock);
            }
        } else {
            result = inj.call(Arch.SYS_FCNTL, fd, lock.getKind().equals(OFD) ? F_OFD_SETLK : F_SETLK,
                    inj.put(0, flock(lock)));
        }
        if (result == 0) {
            return;
        }
        Path link = Path.of("/proc/" + ctx.pid() + "/fd/" + fd);
        String file = Files.readSymbolicLink(link).toString();
        String what = "pid " + ctx.pid() + " fd " + fd + ": " + file + ": cannot take " + describe(lock);
        if (lock.getKind().equals(LEASE) && result == -EAGAIN) {   // a lease needs the file open nowhere else (write: not even for reading)
            throw new IOException(what + ": the file is open " + (lock.getWrite() ? "" : "for writing ")
                    + "elsewhere now: close it there, then restart");
        }
        if (result == -EAGAIN || result == -EACCES) {
            throw new IOException(what + ": " + Holders.conflicting(link, lock)
                    + ": release it, then restart");
        }
        throw new IOException(what + ": " + dev.amber.sys.Errno.describe((int) -result));
    }

    /** "POSIX write lock on bytes 10-29", "flock write lock", "OFD read lock on bytes 100-EOF". */
    static String describe(FileLock lock) {
        String kind = switch (lock.getKind()) {
            case FLOCK -> "flock";
            case OFD -> "OFD";
            case LEASE -> "lease";
            default -> lock.getKind();
        };
        if (lock.getKind().equals(LEASE)) {
            return (lock.getWrite() ? "write" : "read") + " lease"
                    + (lock.getLeaseBreakingTo().isEmpty() ? "" : " being broken to " + lock.getLeaseBreakingTo());
        }
        String range = lock.getKind().equals(FLOCK) ? ""
                : " on bytes " + lock.getStart() + "-" + (lock.getEnd() < 0 ? "EOF" : Long.toString(lock.getEnd()));
        return kind + (lock.getWrite() ? " write" : " read") + " lock" + range;
    }

    /**
     * struct flock on x86-64, 32 bytes:
     * <pre>
     * 0  short l_type     2  short l_whence   4  (pad)
     * 8  long  l_start   16  long  l_len     24  int l_pid   28 (pad)
     * </pre>
     * l_len 0 is "to the end"; l_pid must be 0 for OFD locks.
     */
    private static byte[] flock(FileLock lock) {
        ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(0, lock.getWrite() ? F_WRLCK : F_RDLCK).putShort(2, SEEK_SET);
        b.putLong(8, lock.getStart()).putLong(16, lock.getEnd() < 0 ? 0 : lock.getEnd() - lock.getStart() + 1);
        return b.array();
    }
}
