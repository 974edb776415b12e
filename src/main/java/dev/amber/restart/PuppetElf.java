package dev.amber.restart;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The puppet program: a static x86-64 ELF of 185 bytes, made here rather than built, whose one
 * job is to wait ({@code for (;;) pause();}) until Amber takes it over. No libc, so no rseq area
 * and no TLS that would need undoing before its memory is replaced.
 *
 * <pre>
 *   0x00  ELF header (64)
 *   0x40  PT_LOAD      r-x, file offset 0 at BASE, whole file
 *   0x78  PT_GNU_STACK rw-  (a non-executable stack)
 *   0xb0  b8 22 00 00 00   mov  eax, 34 (pause)
 *   0xb5  0f 05            syscall          &lt;- the first gadget
 *   0xb7  eb f7            jmp  0xb0
 * </pre>
 */
final class PuppetElf {
    static final long BASE = 0x10000;
    static final int CODE = 0xb0;
    static final long SYSCALL_AT = BASE + CODE + 5;
    private static final byte[] CODE_BYTES = {(byte) 0xb8, 0x22, 0, 0, 0, 0x0f, 0x05, (byte) 0xeb, (byte) 0xf7};

    private PuppetElf() {}

    static byte[] bytes() {
        int size = CODE + CODE_BYTES.length;
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0}).put(new byte[8]);
        b.putShort((short) 2).putShort((short) 0x3e).putInt(1)      // ET_EXEC, EM_X86_64, EV_CURRENT
                .putLong(BASE + CODE).putLong(0x40).putLong(0)          // entry, phoff, shoff
                .putInt(0).putShort((short) 64).putShort((short) 56)    // flags, ehsize, phentsize
                .putShort((short) 2).putShort((short) 64).putShort((short) 0).putShort((short) 0);
        b.putInt(1).putInt(5).putLong(0).putLong(BASE).putLong(BASE)   // PT_LOAD, PF_R|PF_X
                .putLong(size).putLong(size).putLong(0x1000);
        b.putInt(0x6474e551).putInt(6).putLong(0).putLong(0).putLong(0) // PT_GNU_STACK, PF_R|PF_W
                .putLong(0).putLong(0).putLong(16);
        b.put(CODE_BYTES);
        return b.array();
    }
}
