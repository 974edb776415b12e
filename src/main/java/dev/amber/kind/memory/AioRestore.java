package dev.amber.kind.memory;

import dev.amber.image.proto.AioRing;
import dev.amber.image.proto.Vma;
import dev.amber.sys.Arch;
import dev.amber.sys.ProcessMemory;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/**
 * Makes each saved AIO context again in a puppet, at its saved address and with the kernel's
 * tail where it was (see {@link AioRings}). Runs once every other mapping is in place, so that
 * the ring io_setup maps lands on none of them; the saved pages are written afterwards and
 * {@link #fixIds} then puts back each new context's id, which the kernel reads from the ring
 * to find the context.
 */
final class AioRestore {
    private static final int SYS_IO_SETUP = 206, SYS_IO_DESTROY = 207, SYS_IO_GETEVENTS = 208, SYS_IO_SUBMIT = 209;
    private static final int PROT_NONE = 0, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20;
    private static final int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, O_WRONLY = 1, O_CLOEXEC = 02000000, AT_FDCWD = -100;
    private static final int IOCB = 64, IOCB_CMD_PWRITE = 1, BATCH = 128;
    // Scratch layout: [0, 8) the context id io_setup writes, [8, 16) one byte to write,
    // then BATCH iocbs, BATCH pointers to them, BATCH io_events.
    private static final int CTX = 0, BYTE = 8, IOCBS = 64, PTRS = IOCBS + BATCH * IOCB, EVENTS = PTRS + BATCH * 8;

    private final Injector inj;
    private final int pid;
    private final Map<Long, Integer> ids = new HashMap<>();   // ring address -> the new context's id

    AioRestore(Injector inj, int pid) {
        this.inj = inj;
        this.pid = pid;
    }

    void remake(Vma v) throws IOException {
        long length = v.getEnd() - v.getStart();
        String what = String.format("aio ring 0x%x-0x%x", v.getStart(), v.getEnd());
        if (v.getAioRing().getInherited()) {
            throw new IOException("pid " + pid + ": " + what + " is its parent's ring, inherited across fork, but the"
                    + " parent's saved memory has no ring there: the image is inconsistent");
        }
        // A placeholder on the saved range, so that io_setup's ring cannot land across it.
        inj.check("mmap placeholder for " + what, Arch.SYS_MMAP, v.getStart(), length, PROT_NONE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        inj.put(CTX, new byte[8]);
        inj.check("io_setup for " + what, SYS_IO_SETUP, AioRings.request(length, AioRings.possibleCpus()),
                inj.scratch() + CTX);
        long ring = inj.getLong(CTX);
        ByteBuffer h = header(ring);
        if (h.getInt(4) != v.getAioRing().getNr()) {
            inj.call(SYS_IO_DESTROY, ring);
            throw new IOException(String.format("pid %d: %s: io_setup here makes a ring of %d events, the image's"
                    + " has %d: restart on a machine with as many possible CPUs as the one that made the image",
                    pid, what, h.getInt(4), v.getAioRing().getNr()));
        }
        inj.check("mremap " + what, Arch.SYS_MREMAP, ring, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, v.getStart());
        ids.put(v.getStart(), h.getInt(0));
        advance(v.getStart(), v.getAioRing(), what);
    }

    /**
     * Completes writes to /dev/null until the kernel's tail is the saved one: those before the
     * saved head are reaped, those after are left in the ring as the unreaped events were.
     */
    private void advance(long ring, AioRing saved, String what) throws IOException {
        // The kernel keeps head and tail below nr (and reduces a head user space wrote modulo nr).
        int nr = saved.getNr(), head = Integer.remainderUnsigned(saved.getHead(), nr);
        int unreaped = Math.floorMod(Integer.remainderUnsigned(saved.getTail(), nr) - head, nr);
        if (head == 0 && unreaped == 0) {
            return;
        }
        long fd = inj.check("open /dev/null for " + what, Arch.SYS_OPENAT, AT_FDCWD, inj.putString(BYTE, "/dev/null"),
                O_WRONLY | O_CLOEXEC, 0);
        try {
            iocbs(fd);
            for (int done = 0; done < head; done += BATCH) {
                int n = Math.min(BATCH, head - done);
                submit(ring, n, what);
                for (long reaped = 0; reaped < n; ) {
                    reaped += inj.check("io_getevents for " + what, SYS_IO_GETEVENTS, ring, n - reaped, n - reaped,
                            inj.scratch() + EVENTS, 0);
                }
            }
            for (int done = 0; done < unreaped; done += BATCH) {
                submit(ring, Math.min(BATCH, unreaped - done), what);
            }
        } finally {
            inj.call(Arch.SYS_CLOSE, fd);
        }
        ByteBuffer h = header(ring);
        if (h.getInt(8) != head || h.getInt(12) != Integer.remainderUnsigned(saved.getTail(), nr)) {
            throw new IOException(String.format("pid %d: %s: the kernel's ring is at head %d tail %d after"
                    + " replaying, not the saved %d %d", pid, what, h.getInt(8), h.getInt(12), head, saved.getTail()));
        }
    }

    private void submit(long ring, int n, String what) throws IOException {
        for (int done = 0; done < n; ) {
            long got = inj.check("io_submit for " + what, SYS_IO_SUBMIT, ring, n - done,
                    inj.scratch() + PTRS + done * 8L);
            done += (int) got;
        }
    }

    /** BATCH iocbs writing one byte to {@code fd}, and the array of pointers to them. */
    private void iocbs(long fd) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(BATCH * IOCB + BATCH * 8).order(ByteOrder.LITTLE_ENDIAN);
        long base = inj.scratch();
        for (int i = 0; i < BATCH; i++) {
            int at = i * IOCB;
            b.putShort(at + 16, (short) IOCB_CMD_PWRITE).putInt(at + 20, (int) fd)
                    .putLong(at + 24, base + BYTE).putLong(at + 32, 1);
            b.putLong(BATCH * IOCB + i * 8, base + IOCBS + (long) i * IOCB);
        }
        inj.put(IOCBS, b.array());
    }

    /** Once the saved pages are in: each ring gets its new context's id back (the saved one may differ). */
    void fixIds() throws IOException {
        for (var e : ids.entrySet()) {
            ByteBuffer id = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(e.getValue());
            ProcessMemory.write(pid, e.getKey(), id.array());
        }
    }

    private ByteBuffer header(long ring) throws IOException {
        return ByteBuffer.wrap(ProcessMemory.read(pid, ring, AioRings.HEADER)).order(ByteOrder.LITTLE_ENDIAN);
    }
}
