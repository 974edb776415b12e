package dev.amber.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * A buffer in Amber's own memory for system calls that Amber makes itself with pointer arguments
 * (IPC calls on objects of the checkpointed tree, open_by_handle_at): the same put/get shape as
 * the injector's scratch area in a target. {@link #at} is the address to pass to
 * {@link Syscall#raw}; close frees it.
 */
public final class LocalBuffer implements AutoCloseable {
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment segment;

    public LocalBuffer(long size) {
        segment = arena.allocate(Math.max(8, size), 8);
    }

    public long size() {
        return segment.byteSize();
    }

    /** The address of byte {@code offset}, to pass to a system call. */
    public long at(long offset) {
        if (offset < 0 || offset > segment.byteSize()) {
            throw new IndexOutOfBoundsException("offset " + offset + " of a " + segment.byteSize() + "-byte buffer");
        }
        return segment.address() + offset;
    }

    /** Copies {@code data} in at {@code offset}; returns its address. */
    public long put(long offset, byte[] data) {
        MemorySegment.copy(data, 0, segment, ValueLayout.JAVA_BYTE, offset, data.length);
        return at(offset);
    }

    /** A NUL-terminated copy of {@code s} at {@code offset}; returns its address. */
    public long putString(long offset, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        put(offset, b);
        segment.set(ValueLayout.JAVA_BYTE, offset + b.length, (byte) 0);
        return at(offset);
    }

    public byte[] get(long offset, int length) {
        return segment.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE);
    }

    public long getLong(long offset) {
        return segment.get(ValueLayout.JAVA_LONG_UNALIGNED, offset);
    }

    public int getInt(long offset) {
        return segment.get(ValueLayout.JAVA_INT_UNALIGNED, offset);
    }

    public void putLong(long offset, long v) {
        segment.set(ValueLayout.JAVA_LONG_UNALIGNED, offset, v);
    }

    public void putInt(long offset, int v) {
        segment.set(ValueLayout.JAVA_INT_UNALIGNED, offset, v);
    }

    @Override
    public void close() {
        arena.close();
    }
}
