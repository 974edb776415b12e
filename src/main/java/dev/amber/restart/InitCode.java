package dev.amber.restart;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The helper init of a new pid namespace (restart --new-pidns): reaps every child, and ends with
 * the root's status once the root is reaped (its code, or 128 + the signal that killed it), so
 * that {@code restart --wait} on the init reports the root's end. x86-64, position independent,
 * run on its own page with the stack at the page's end:
 *
 * <pre>
 *   sub  rsp, 16
 * loop:
 *   wait4(-1, rsp, __WALL, NULL)          ; mov edi,-1; mov rsi,rsp; mov edx,0x40000000; xor r10d,r10d
 *   test eax, eax ; js nochild
 *   cmp  eax, ROOT ; jne loop
 *   mov  eax, [rsp] ; mov edi, eax ; and edi, 0x7f ; jz exited
 *   add  edi, 128 ; jmp out               ; killed by a signal
 * exited:
 *   shr  eax, 8 ; movzx edi, al            ; its exit code
 * out:
 *   exit_group(edi)
 * nochild:
 *   xor  edi, edi ; jmp out
 * </pre>
 */
final class InitCode {
    private InitCode() {}

    static byte[] bytes(int root) {
        ByteBuffer b = ByteBuffer.allocate(0x49).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x48, (byte) 0x83, (byte) 0xec, 0x10});                       // 00 sub rsp, 16
        b.put(new byte[] {(byte) 0xbf, -1, -1, -1, -1});                                // 04 mov edi, -1
        b.put(new byte[] {0x48, (byte) 0x89, (byte) 0xe6});                             // 09 mov rsi, rsp
        b.put(new byte[] {(byte) 0xba, 0, 0, 0, 0x40});                                 // 0c mov edx, __WALL
        b.put(new byte[] {0x45, 0x31, (byte) 0xd2});                                    // 11 xor r10d, r10d
        b.put(new byte[] {(byte) 0xb8, 61, 0, 0, 0});                                   // 14 mov eax, wait4
        b.put(new byte[] {0x0f, 0x05});                                                 // 19 syscall
        b.put(new byte[] {(byte) 0x85, (byte) 0xc0});                                   // 1b test eax, eax
        b.put(new byte[] {0x78, 0x26});                                                 // 1d js nochild (45)
        b.put((byte) 0x3d).putInt(root);                                                // 1f cmp eax, root
        b.put(new byte[] {0x75, (byte) 0xde});                                          // 24 jne loop (04)
        b.put(new byte[] {(byte) 0x8b, 0x04, 0x24});                                    // 26 mov eax, [rsp]
        b.put(new byte[] {(byte) 0x89, (byte) 0xc7});                                   // 29 mov edi, eax
        b.put(new byte[] {(byte) 0x83, (byte) 0xe7, 0x7f});                             // 2b and edi, 0x7f
        b.put(new byte[] {0x74, 0x08});                                                 // 2e jz exited (38)
        b.put(new byte[] {(byte) 0x81, (byte) 0xc7, (byte) 0x80, 0, 0, 0});             // 30 add edi, 128
        b.put(new byte[] {(byte) 0xeb, 0x06});                                          // 36 jmp out (3e)
        b.put(new byte[] {(byte) 0xc1, (byte) 0xe8, 0x08});                             // 38 shr eax, 8
        b.put(new byte[] {0x0f, (byte) 0xb6, (byte) 0xf8});                             // 3b movzx edi, al
        b.put(new byte[] {(byte) 0xb8, (byte) 0xe7, 0, 0, 0});                          // 3e mov eax, exit_group
        b.put(new byte[] {0x0f, 0x05});                                                 // 43 syscall
        b.put(new byte[] {0x31, (byte) 0xff});                                          // 45 xor edi, edi
        b.put(new byte[] {(byte) 0xeb, (byte) 0xf5});                                   // 47 jmp out (3e)
        if (b.position() != 0x49) {
            throw new AssertionError("init code is " + b.position() + " bytes");
        }
        return b.array();
    }
}
