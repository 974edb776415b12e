package dev.amber.sys;

import java.lang.foreign.MemorySegment;

/**
 * Large buffers of the tool's own, mapped with MAP_POPULATE so their pages exist (zeroed) before
 * they are used: copying into them while a target is frozen then costs no page faults.
 */
public final class Buffers {
    private static final int PROT_RW = 3, MAP_PRIVATE_ANON = 0x22, MAP_POPULATE = 0x8000;

    /** A populated anonymous mapping; close unmaps it. */
    public record Mapping(MemorySegment segment) implements AutoCloseable {
        @Override
        public void close() {
            Syscall.raw(Arch.SYS_MUNMAP, segment.address(), segment.byteSize(), 0);
        }
    }

    private Buffers() {}

    public static Mapping populated(long bytes) throws ErrnoException {
        long size = Math.max(Arch.PAGE_SIZE, (bytes + Arch.PAGE_SIZE - 1) & -Arch.PAGE_SIZE);
        long at = Syscall.check("mmap", size + " bytes", Arch.SYS_MMAP, 0, size, PROT_RW,
                MAP_PRIVATE_ANON | MAP_POPULATE, -1, 0);
        return new Mapping(MemorySegment.ofAddress(at).reinterpret(size));
    }
}
