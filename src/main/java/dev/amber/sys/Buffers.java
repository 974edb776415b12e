package dev.amber.sys;

import java.lang.foreign.MemorySegment;

/**
 * Large buffers of the tool's own, mapped with MAP_POPULATE so their pages exist (zeroed) before
 * they are used: copying into them while a target is frozen then costs no page faults.
 */
public final class Buffers {
    private static final int PROT_RW = 3, MAP_PRIVATE_ANON = 0x22, MAP_POPULATE = 0x8000, MADV_POPULATE_WRITE = 23;

    /** A populated anonymous mapping; close unmaps it. */
    public record Mapping(MemorySegment segment) implements AutoCloseable {
        @Override
        public void close() {
            Syscall.raw(Arch.SYS_MUNMAP, segment.address(), segment.byteSize(), 0);
        }
    }

    private Buffers() {}

    /**
     * Allocates every page of a shared file mapping now (madvise MADV_POPULATE_WRITE, kernel
     * 5.14+), so that filling it later takes no page faults. Returns 0, or the errno: ENOMEM or
     * EFAULT when the file system has no room for them, EINVAL on a kernel without the advice.
     */
    public static int populate(MemorySegment mapping, java.util.function.LongConsumer progress) {
        // Both CPUs, in 64 MiB pieces: allocating page-cache pages is most of the cost, and it
        // parallelises. progress is told the bytes done so far, from either thread.
        long piece = 64L << 20;
        if (mapping.byteSize() <= piece) {   // one piece: a second thread would only cost its start
            int errno = populate(mapping.address(), mapping.byteSize());
            progress.accept(mapping.byteSize());
            return errno;
        }
        var cursor = new java.util.concurrent.atomic.AtomicLong();
        var done = new java.util.concurrent.atomic.AtomicLong();
        int[] errors = new int[2];
        Runnable[] workers = new Runnable[2];
        for (int w = 0; w < 2; w++) {
            int me = w;
            workers[w] = () -> {
                for (long at; (at = cursor.getAndAdd(piece)) < mapping.byteSize() && errors[0] == 0 && errors[1] == 0; ) {
                    long n = Math.min(piece, mapping.byteSize() - at);
                    errors[me] = populate(mapping.address() + at, n);
                    progress.accept(done.addAndGet(n));
                }
            };
        }
        Thread helper = Thread.ofPlatform().start(workers[1]);
        workers[0].run();
        try {
            helper.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return errors[0] != 0 ? errors[0] : errors[1];
    }

    private static int populate(long address, long length) {
        return length == 0 ? 0 : (int) -Syscall.raw(Arch.SYS_MADVISE, address, length, MADV_POPULATE_WRITE);
    }

    public static Mapping populated(long bytes) throws ErrnoException {
        long size = Math.max(Arch.PAGE_SIZE, (bytes + Arch.PAGE_SIZE - 1) & -Arch.PAGE_SIZE);
        long at = Syscall.check("mmap", size + " bytes", Arch.SYS_MMAP, 0, size, PROT_RW,
                MAP_PRIVATE_ANON | MAP_POPULATE, -1, 0);
        return new Mapping(MemorySegment.ofAddress(at).reinterpret(size));
    }
}
