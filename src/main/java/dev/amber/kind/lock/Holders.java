package dev.amber.kind.lock;

import dev.amber.image.proto.FileLock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Who holds a lock that conflicts with one the restart could not take, from {@code /proc/locks}:
 *
 * <pre>
 * 1: OFDLCK ADVISORY  WRITE -1 fe:00:2147780 0 4
 * 2: POSIX  ADVISORY  READ 19731 fe:00:2147746 100 EOF
 * 4: FLOCK  ADVISORY  WRITE 19731 fe:00:2147730 0 EOF
 * 4: -> FLOCK  ADVISORY  WRITE 20011 fe:00:2147730 0 EOF     (a waiter: not a holder)
 * </pre>
 *
 * The device is {@code major:minor} in hex. flock locks meet only flock locks; POSIX and OFD locks
 * meet each other. An OFD lock's pid is -1 (its owner is an open file description, not a process).
 */
final class Holders {
    private Holders() {}

    /** "process 1234 holds a conflicting POSIX WRITE lock on bytes 0-EOF", or what is known. */
    static String conflicting(Path file, FileLock wanted) throws IOException {
        Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino");
        long dev = (Long) a.get("dev"), ino = (Long) a.get("ino");
        long major = (dev >>> 8) & 0xfff | (dev >>> 32) & ~0xfffL, minor = dev & 0xff | (dev >>> 12) & ~0xffL;
        for (String line : Files.readAllLines(Path.of("/proc/locks"))) {
            String[] t = line.strip().split("\\s+");
            if (t.length < 8 || t[1].equals("->")) {
                continue;
            }
            String[] id = t[5].split(":");
            if (id.length != 3 || Long.parseLong(id[0], 16) != major || Long.parseLong(id[1], 16) != minor
                    || Long.parseLong(id[2]) != ino || !meets(wanted, t)) {
                continue;
            }
            String holder = t[4].equals("-1") ? "an open file description (OFD lock, no pid)" : "process " + t[4];
            String range = t[1].equals(FileLocks.FLOCK) ? "" : " on bytes " + t[6] + "-" + t[7];
            return holder + " holds a conflicting " + t[1] + " " + t[3] + " lock" + range;
        }
        return "a conflicting lock is held (not found in /proc/locks)";
    }

    /** Whether the /proc/locks line {@code t} (split) conflicts with {@code wanted}. */
    private static boolean meets(FileLock wanted, String[] t) {
        boolean flock = t[1].equals(FileLocks.FLOCK);
        if (flock != wanted.getKind().equals(FileLocks.FLOCK) || !(wanted.getWrite() || t[3].equals("WRITE"))) {
            return false;
        }
        if (flock) {
            return true;
        }
        long start = Long.parseLong(t[6]), end = t[7].equals("EOF") ? Long.MAX_VALUE : Long.parseLong(t[7]);
        long wantedEnd = wanted.getEnd() < 0 ? Long.MAX_VALUE : wanted.getEnd();
        return start <= wantedEnd && wanted.getStart() <= end;
    }
}
