package dev.amber.sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Another process's memory through process_vm_readv/process_vm_writev: one copy, at about
 * 5 GiB/s here. Both respect page protections (EFAULT on a page the target may not access that
 * way): map writable, fill, then mprotect.
 */
public final class ProcessMemory {
    private ProcessMemory() {}

    /** Reads {@code local.byteSize()} bytes at {@code remote} of {@code pid} into {@code local}. */
    public static void read(int pid, long remote, MemorySegment local) throws ErrnoException {
        transfer(Arch.SYS_PROCESS_VM_READV, "process_vm_readv", pid, remote, local);
    }

    public static void write(int pid, long remote, MemorySegment local) throws ErrnoException {
        transfer(Arch.SYS_PROCESS_VM_WRITEV, "process_vm_writev", pid, remote, local);
    }

    public static byte[] read(int pid, long remote, int length) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(length);
            read(pid, remote, buffer);
            return buffer.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    public static void write(int pid, long remote, byte[] data) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buffer, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, data.length);
            write(pid, remote, buffer.asSlice(0, data.length));
        }
    }

    private static void transfer(int nr, String name, int pid, long remote, MemorySegment local)
            throws ErrnoException {
        long done = 0;
        long total = local.byteSize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment iov = arena.allocate(32, 8);
            while (done < total) {
                // One call moves at most 2 GiB - 4 KiB (MAX_RW_COUNT); a short count means a fault.
                long chunk = Math.min(total - done, 1L << 30);
                iov.set(JAVA_LONG, 0, local.address() + done);
                iov.set(JAVA_LONG, 8, chunk);
                iov.set(JAVA_LONG, 16, remote + done);
                iov.set(JAVA_LONG, 24, chunk);
                long r = Syscall.raw(nr, pid, iov.address(), 1, iov.address() + 16, 1, 0);
                ErrnoException.check(r, name,
                        "pid " + pid + " address 0x" + Long.toHexString(remote + done) + " length " + chunk);
                if (r == 0) {
                    throw new ErrnoException(name, "pid " + pid + " address 0x" + Long.toHexString(remote + done),
                            Errno.EFAULT);
                }
                done += r;
            }
        }
    }
}
