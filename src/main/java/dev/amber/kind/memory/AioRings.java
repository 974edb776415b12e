package dev.amber.kind.memory;

import dev.amber.image.proto.AioRing;
import dev.amber.image.proto.PageRun;
import dev.amber.image.proto.Vma;
import dev.amber.image.proto.VmaKind;
import dev.amber.kind.DumpContext;
import dev.amber.proc.MapsEntry;
import dev.amber.sys.Arch;
import dev.amber.sys.ProcessMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * AIO contexts (io_setup). Each context is a completion ring the kernel maps into the process
 * ({@code /[aio] (deleted)}, a file of the aio pseudo-filesystem that cannot be opened again):
 *
 * <pre>
 *   0 id   4 nr   8 head   12 tail   16 magic 0xa10a10a1   20 compat   24 incompat   28 header_length
 *  32 struct io_event[nr] (32 bytes each: data, obj, res, res2)
 * </pre>
 *
 * The ring is user memory: the kernel writes events at its own private tail ({@code ctx->tail},
 * copied to the ring's tail) and trusts the head that user space writes. A checkpoint saves the
 * header and the ring's pages. A restart makes a context of the same size with io_setup, moves
 * its ring to the saved address (mremap of an aio ring is allowed and moves the context with
 * it), brings the kernel's tail to the saved one by completing that many writes to /dev/null
 * (reaping those before the saved head, so the kernel counts the slots of the unreaped ones as
 * taken), then writes the saved ring over it, keeping the new context's id. Requests in flight
 * (submitted, not completed) are kernel state that no interface shows: they are lost.
 */
final class AioRings {
    static final int MAGIC = 0xa10a10a1;
    static final int HEADER = 32, EVENT = 32;
    private static final int SYS_IO_GETEVENTS = 208;

    private AioRings() {}

    static boolean isRing(MapsEntry m) {
        return m.path().equals("/[aio] (deleted)");
    }

    /**
     * The ring's header and all its pages (the kernel allocated every one at io_setup). A ring
     * that is not a context of this process (a child's copy of its parent's, inherited across
     * fork, which io_getevents does not find) is refused.
     */
    static Optional<Vma.Builder> dump(DumpContext ctx, MapsEntry m, Vma.Builder v, String where) throws IOException {
        ByteBuffer h = ByteBuffer.wrap(ProcessMemory.read(ctx.pid(), m.start(), HEADER)).order(ByteOrder.LITTLE_ENDIAN);
        int magic = h.getInt(16), nr = h.getInt(4);
        if (magic != MAGIC || (long) HEADER + (long) nr * EVENT > m.length()) {
            ctx.refuse(where, "aio ring", String.format("its header is not the kernel's (magic 0x%x, nr %d):"
                    + " the process overwrote it", magic, nr));
            return Optional.empty();
        }
        // io_getevents(ctx, 0, 0, NULL, NULL) reads nothing and fails with EINVAL for a foreign ring.
        long own = ctx.injector().call(SYS_IO_GETEVENTS, m.start(), 0, 0, 0, 0);
        Set<String> seen = ctx.tree().cached(Seen.class, Seen::new).rings;
        String mine = m.inode() + " " + ctx.pid() + " " + m.start() + " " + m.end();
        if (own < 0) {
            if (!seen.contains(m.inode() + " " + ctx.process().getPpid() + " " + m.start() + " " + m.end())) {
                ctx.refuse(where, "aio ring", "not a context of this process, nor its parent's ring inherited across"
                        + " fork: not supported");
                return Optional.empty();
            }
            seen.add(mine);
            return Optional.of(v.setKind(VmaKind.AIO_RING).setAioRing(AioRing.newBuilder().setInherited(true)));
        }
        seen.add(mine);
        v.setKind(VmaKind.AIO_RING).setAioRing(AioRing.newBuilder().setId(h.getInt(0)).setNr(nr)
                .setHead(h.getInt(8)).setTail(h.getInt(12)));
        return Optional.of(v);
    }

    /** The rings of the tree so far, by "inode pid start end" (parents are saved before their children). */
    private static final class Seen {
        final Set<String> rings = new HashSet<>();
    }

    /** Adds the whole ring as one run of pages at {@code offset}; returns the new end offset. */
    static long pages(Vma.Builder v, long offset) {
        if (v.getAioRing().getInherited()) {
            return offset;
        }
        long count = (v.getEnd() - v.getStart()) / Arch.PAGE_SIZE;
        v.addPages(PageRun.newBuilder().setAddress(v.getStart()).setCount(count).setFileOffset(offset));
        return offset + count * Arch.PAGE_SIZE;
    }

    /**
     * The nr_events to give io_setup for a ring of {@code length} bytes: the kernel raises the
     * request to 4 per possible CPU, doubles it, and maps 32 + 32 * that bytes in whole pages; so
     * the smallest request that fills the same pages (the original was at least that: it counts
     * against fs.aio-max-nr).
     */
    static long request(long length, int possibleCpus) {
        long pages = length / Arch.PAGE_SIZE;
        if (bytes(1, possibleCpus) == length) {
            return 1;
        }
        return Math.max(1, ((pages - 1) * Arch.PAGE_SIZE - HEADER) / (2L * EVENT) + 1);
    }

    /** The bytes of the ring io_setup(nr) maps (fs/aio.c: ioctx_alloc, aio_setup_ring). */
    static long bytes(long nr, int possibleCpus) {
        long events = Math.max(nr, 4L * possibleCpus) * 2;
        return (HEADER + events * EVENT + Arch.PAGE_SIZE - 1) / Arch.PAGE_SIZE * Arch.PAGE_SIZE;
    }

    /** How many CPUs the kernel counts as possible ({@code /sys/devices/system/cpu/possible}, e.g. "0-3"). */
    static int possibleCpus() throws IOException {
        String list = java.nio.file.Files.readString(java.nio.file.Path.of("/sys/devices/system/cpu/possible")).strip();
        int count = 0;
        for (String part : list.split(",")) {
            String[] range = part.split("-");
            count += range.length == 1 ? 1 : Integer.parseInt(range[1]) - Integer.parseInt(range[0]) + 1;
        }
        return count;
    }
}
