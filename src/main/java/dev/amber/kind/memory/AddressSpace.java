package dev.amber.kind.memory;

import dev.amber.sys.Arch;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Address ranges [start, end) and the search for a free one among them. */
public final class AddressSpace {
    private final List<long[]> used = new ArrayList<>();

    public AddressSpace add(long start, long end) {
        used.add(new long[] {start, end});
        return this;
    }

    /**
     * The highest page-aligned address below 2^46 where {@code size} bytes touch nothing in use,
     * with a page of room on both sides (so a new mapping never merges with a neighbour).
     */
    public long findFree(long size) {
        long candidate = ((1L << 46) - size - Arch.PAGE_SIZE) & -Arch.PAGE_SIZE;
        while (candidate >= (1L << 20)) {
            long lowestConflict = Long.MAX_VALUE;
            for (long[] r : used) {
                if (r[0] < candidate + size + Arch.PAGE_SIZE && r[1] + Arch.PAGE_SIZE > candidate) {
                    lowestConflict = Math.min(lowestConflict, r[0]);
                }
            }
            if (lowestConflict == Long.MAX_VALUE) {
                return candidate;
            }
            candidate = (lowestConflict - size - Arch.PAGE_SIZE) & -Arch.PAGE_SIZE;
        }
        throw new IllegalStateException("no free range of " + size + " bytes in the address space");
    }

    /** The ranges not in use between {@code from} and {@code to}, ascending. */
    public List<long[]> gaps(long from, long to) {
        List<long[]> sorted = new ArrayList<>(used);
        sorted.sort(Comparator.comparingLong(r -> r[0]));
        List<long[]> out = new ArrayList<>();
        long at = from;
        for (long[] r : sorted) {
            if (r[0] > at) {
                out.add(new long[] {at, Math.min(r[0], to)});
            }
            at = Math.max(at, r[1]);
        }
        if (at < to) {
            out.add(new long[] {at, to});
        }
        return out;
    }
}
