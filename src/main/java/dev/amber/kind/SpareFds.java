package dev.amber.kind;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Process;
import dev.amber.sys.Arch;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Syscall;
import java.util.BitSet;

/**
 * The descriptor numbers a puppet uses for Amber's own descriptors while it is restored (its
 * pidfd of Amber, and one temporary per memfd, see kind.memfd): numbers the process does not
 * have, so that its table comes back with nothing extra. A descriptor number must be below
 * RLIMIT_NOFILE's soft limit to be used (EBADF or EMFILE above), and a puppet may raise its soft
 * limit to its hard limit but no further without CAP_SYS_RESOURCE; a puppet's hard limit is
 * amber restart's own, which it inherits. So spares are taken above the saved table first, then
 * from the gaps in it, highest first, all below that hard limit. When the saved table fills
 * every number below the hard limit, the pidfd goes on the slot of a duplicate descriptor
 * (restored last, by dup3 over it, once nothing more needs the pidfd: see kind.file).
 */
public final class SpareFds {
    private static final int RLIMIT_NOFILE = 7, LOWEST = 3;
    /** The RLIMIT_NOFILE hard limit of this amber, which every puppet inherits. */
    public static final long HARD = hardLimit();

    private SpareFds() {}

    private static long hardLimit() {
        try (LocalBuffer b = new LocalBuffer(16)) {
            long r = Syscall.raw(Arch.SYS_PRLIMIT64, 0, RLIMIT_NOFILE, 0, b.at(0));
            return r < 0 ? Integer.MAX_VALUE : Math.min(Integer.MAX_VALUE, Math.max(0, b.getLong(8)));
        }
    }

    /** The slot of the {@code index}th memfd temporary (in kind.memfd's order of distinct memfds). */
    public static int memfdTemporary(Process p, int memfds, int index) {
        return spares(p, memfds + 1, HARD)[index];
    }

    /** Where the puppet of {@code p} keeps its pidfd of Amber, given that it has {@code memfds} temporaries. */
    public static int amberPidfd(Process p, int memfds) {
        int[] spare = spares(p, memfds + 1, HARD);
        return spare.length > memfds ? spare[memfds] : onDuplicate(p);
    }

    /**
     * Why the saved table of {@code p} cannot be restored under hard limit {@code hard}, or null
     * when it can: a descriptor at or above the limit, or no slot left for a memfd temporary,
     * or, with every slot taken, no duplicate to put the pidfd on.
     */
    public static String problem(Process p, int memfds, long hard) {
        int highest = highest(p);
        String remedy = ": run amber restart with a hard limit of at least %d (prlimit --nofile=%d:%d amber restart ...)";
        if (highest >= hard) {
            long need = highest + 1L + memfds + 1;
            return String.format("pid %d fd %d: above RLIMIT_NOFILE's hard limit %d of amber restart, which its puppets"
                    + " inherit and may not raise without CAP_SYS_RESOURCE" + remedy, p.getPid(), highest, hard, need,
                    need, need);
        }
        int[] spare = spares(p, memfds + 1, hard);
        if (spare.length < memfds || spare.length == memfds && onDuplicate(p) < 0) {
            long need = p.getDescriptorsCount() + memfds + 1L;
            return String.format("pid %d: its %d descriptors fill every slot below RLIMIT_NOFILE's hard limit %d of"
                    + " amber restart, with no slot left for %s while it is restored" + remedy, p.getPid(),
                    p.getDescriptorsCount(), hard, memfds == 1 ? "the temporary of its memfd" : memfds > 1 ? "the temporaries of its " + memfds + " memfds"
                    : "amber's own descriptor (no descriptor is a duplicate whose slot could hold it)", need, need, need);
        }
        return null;
    }

    /** Whether the pidfd of Amber sits on a saved descriptor's slot (the table is full). */
    public static boolean pidfdOnSaved(Process p, int memfds) {
        return spares(p, memfds + 1, HARD).length <= memfds;
    }

    /** The highest duplicate descriptor (restored by dup3, needing no free slot), or -1. */
    private static int onDuplicate(Process p) {
        return p.getDescriptorsList().stream().filter(Descriptor::getShares).mapToInt(Descriptor::getFd).max()
                .orElse(-1);
    }

    private static int highest(Process p) {
        return p.getDescriptorsList().stream().mapToInt(Descriptor::getFd).max().orElse(LOWEST - 1);
    }

    /** Up to {@code count} numbers below {@code hard} that {@code p} does not use: upward from above its table, then down from its top. */
    static int[] spares(Process p, int count, long hard) {
        BitSet used = new BitSet();
        p.getDescriptorsList().forEach(d -> used.set(d.getFd()));
        int[] out = new int[count];
        int n = 0;
        for (long fd = Math.max(LOWEST, highest(p) + 1L); fd < hard && n < count; fd++) {
            out[n++] = (int) fd;
        }
        for (int fd = (int) Math.min(hard, highest(p) + 1L) - 1; fd >= 0 && n < count; fd--) {
            if (!used.get(fd)) {
                out[n++] = fd;
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }
}
