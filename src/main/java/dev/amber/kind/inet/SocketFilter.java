package dev.amber.kind.inet;

import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A socket's classic BPF filter (SO_ATTACH_FILTER), saved as its instructions and attached
 * again. SO_GET_FILTER (the same number as SO_ATTACH_FILTER) counts its optlen in
 * instructions, not bytes: with 0 it answers how many there are, with that many it copies them
 * (struct sock_filter: code:u16 jt:u8 jf:u8 k:u32, 8 bytes). The kernel keeps the program as it
 * was given for exactly this. A filter attached as an eBPF program (SO_ATTACH_BPF) has no
 * such copy and reads back as none.
 *
 * <pre>
 * sock_fprog  len:u16  pad:6  filter:ptr   (16 bytes)
 * </pre>
 */
final class SocketFilter {
    static final int SO_ATTACH_FILTER = 26;
    private static final int SOL_SOCKET = 1, FPROG_AT = 2048, INSNS_AT = 4096, INSN = 8, BPF_MAXINSNS = 4096;

    private SocketFilter() {}

    /** The filter's instructions (empty: none). */
    static byte[] read(Injector inj, long fd, String what) throws IOException {
        int count = length(inj, fd, 0, what);
        if (count == 0) {
            return new byte[0];
        }
        if (count > BPF_MAXINSNS) {
            throw new IOException("getsockopt(SO_GET_FILTER) " + what + ": " + count + " instructions, at most "
                    + BPF_MAXINSNS + " expected");
        }
        int got = length(inj, fd, count, what);
        return inj.get(INSNS_AT, got * INSN);
    }

    /** getsockopt(SO_GET_FILTER) with an optlen of {@code count} instructions; the count it leaves. */
    private static int length(Injector inj, long fd, int count, String what) throws IOException {
        inj.put(FPROG_AT, le(count));
        inj.check("getsockopt(SO_GET_FILTER) " + what, Arch.SYS_GETSOCKOPT, fd, SOL_SOCKET, SO_ATTACH_FILTER,
                count == 0 ? 0 : inj.scratch() + INSNS_AT, inj.scratch() + FPROG_AT);
        return ByteBuffer.wrap(inj.get(FPROG_AT, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    /** Attaches the saved instructions to {@code fd} (nothing when there were none). */
    static void write(Injector inj, long fd, byte[] instructions, String what) throws IOException {
        if (instructions.length == 0) {
            return;
        }
        long insns = inj.put(INSNS_AT, instructions);
        byte[] fprog = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) (instructions.length / INSN)).putShort((short) 0).putInt(0).putLong(insns).array();
        inj.check("setsockopt(SO_ATTACH_FILTER, " + instructions.length / INSN + " instructions) " + what,
                Arch.SYS_SETSOCKOPT, fd, SOL_SOCKET, SO_ATTACH_FILTER, inj.put(FPROG_AT, fprog), 16);
    }

    private static byte[] le(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }
}
