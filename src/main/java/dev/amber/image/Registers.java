package dev.amber.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The registers `amber show` prints, decoded from Thread.gp_regs. Only the layout is known here,
 * not what the registers mean to a restart; the per-arch record in `sys` is the authority.
 */
final class Registers {
    /** x86-64 struct user_regs_struct: 27 u64, in this order (asm/user_64.h). */
    private static final int X86_64_WORDS = 27;
    private static final int RAX = 10;
    private static final int RIP = 16;
    private static final int RSP = 19;
    private static final int FS_BASE = 21;

    private Registers() {}

    static String summary(String arch, com.google.protobuf.ByteString gpRegs) {
        if (arch.equals("x86_64") && gpRegs.size() == X86_64_WORDS * 8) {
            ByteBuffer regs = gpRegs.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            return String.format("rip 0x%x rsp 0x%x rax 0x%x fs_base 0x%x", regs.getLong(RIP * 8),
                    regs.getLong(RSP * 8), regs.getLong(RAX * 8), regs.getLong(FS_BASE * 8));
        }
        return gpRegs.size() + " bytes (" + arch + ")";
    }
}
