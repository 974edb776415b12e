package dev.amber.trace;

import dev.amber.sys.Arch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** A task's general registers ({@code struct user_regs_struct}), indexed by {@link Arch} constants. */
public final class Regs {
    private final long[] values;

    public Regs(long[] values) {
        if (values.length != Arch.REGS_COUNT) {
            throw new IllegalArgumentException("user_regs_struct has " + Arch.REGS_COUNT + " registers, got " + values.length);
        }
        this.values = values.clone();
    }

    public static Regs fromBytes(byte[] raw) {
        long[] v = new long[Arch.REGS_COUNT];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(v);
        return new Regs(v);
    }

    public byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(Arch.REGS_COUNT * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return b.array();
    }

    public long get(int reg) {
        return values[reg];
    }

    public Regs with(int reg, long value) {
        Regs copy = new Regs(values);
        copy.values[reg] = value;
        return copy;
    }

    long[] raw() {
        return values.clone();
    }

    public Regs copy() {
        return new Regs(values);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Regs r && Arrays.equals(values, r.values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return String.format("rip=0x%x rsp=0x%x rax=0x%x orig_rax=%d", get(Arch.RIP), get(Arch.RSP), get(Arch.RAX),
                get(Arch.ORIG_RAX));
    }
}
