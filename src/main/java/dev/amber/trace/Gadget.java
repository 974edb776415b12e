package dev.amber.trace;

import dev.amber.sys.Arch;
import dev.amber.sys.ProcessMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds a {@code syscall} instruction in a task's own code to inject calls through. The vDSO
 * always has one (its clock_gettime fallback); the two bytes may even sit inside another
 * instruction, since only they are executed. Failing that, any executable mapping will do.
 */
public final class Gadget {
    private Gadget() {}

    /** Where the first syscall instruction lies in the vDSO (the same image in every process): -1 until found. */
    private static volatile long vdsoOffset = -1;

    public static long find(int pid) throws IOException {
        long known = vdsoOffset;
        if (known >= 0) {   // the vDSO's base from the auxiliary vector, and two bytes to confirm: no maps to read
            long base = dev.amber.proc.Auxv.read(pid).value(dev.amber.proc.Auxv.AT_SYSINFO_EHDR).orElse(0);
            if (base != 0) {
                try {
                    byte[] b = ProcessMemory.read(pid, base + known, 2);
                    if (b[0] == Arch.SYSCALL_INSN[0] && b[1] == Arch.SYSCALL_INSN[1]) {
                        return base + known;
                    }
                } catch (IOException e) {
                    // Not mapped there (moved or unmapped): look in its maps.
                }
            }
        }
        long fallbackStart = 0, fallbackEnd = 0;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/maps"))) {
            String[] f = line.split("\\s+", 6);
            String[] range = f[0].split("-");
            long start = Long.parseUnsignedLong(range[0], 16), end = Long.parseUnsignedLong(range[1], 16);
            String name = f.length > 5 ? f[5] : "";
            if (name.equals("[vdso]")) {
                long at = search(pid, start, end);
                if (at != 0) {
                    vdsoOffset = at - start;
                    return at;
                }
            } else if (f[1].startsWith("r-x") && fallbackStart == 0 && !name.equals("[vsyscall]")) {
                fallbackStart = start;
                fallbackEnd = end;
            }
        }
        long at = fallbackStart == 0 ? 0 : search(pid, fallbackStart, Math.min(fallbackEnd, fallbackStart + (1 << 20)));
        if (at == 0) {
            throw new IOException("pid " + pid + ": no syscall instruction in its vDSO or code to inject calls through");
        }
        return at;
    }

    static long search(int pid, long start, long end) throws IOException {
        byte[] code = ProcessMemory.read(pid, start, (int) (end - start));
        for (int i = 0; i + 1 < code.length; i++) {
            if (code[i] == Arch.SYSCALL_INSN[0] && code[i + 1] == Arch.SYSCALL_INSN[1]) {
                return start + i;
            }
        }
        return 0;
    }
}
