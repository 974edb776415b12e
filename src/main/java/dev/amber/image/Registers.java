package dev.amber.image;

import dev.amber.sys.Arch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The registers `amber show` prints, decoded from Thread.gp_regs. The layout comes from the
 * per-arch record {@link Arch}, the one authority on it; an image of another arch, or of an
 * unexpected size, is shown as its size only.
 */
final class Registers {
    private Registers() {}

    static String summary(String arch, com.google.protobuf.ByteString gpRegs) {
        if (arch.equals(Arch.NAME) && gpRegs.size() == Arch.REGS_COUNT * Long.BYTES) {
            ByteBuffer regs = gpRegs.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            return String.format("rip 0x%x rsp 0x%x rax 0x%x fs_base 0x%x", word(regs, Arch.RIP),
                    word(regs, Arch.RSP), word(regs, Arch.RAX), word(regs, Arch.FS_BASE));
        }
        return gpRegs.size() + " bytes (" + arch + ")";
    }

    private static long word(ByteBuffer regs, int index) {
        return regs.getLong(index * Long.BYTES);
    }
}
