package dev.amber.trace;

import dev.amber.sys.Arch;
import dev.amber.sys.ProcessMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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
        List<long[]> code = new ArrayList<>();
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
            } else if (f[1].startsWith("r-x") && !name.equals("[vsyscall]")) {
                code.add(new long[] {start, end});
            }
        }
        // No vDSO (unmapped, or vdso=0 at boot): any code of the task's own, libc's say. A small
        // program's text may have no syscall instruction in it, so every executable mapping is
        // looked at, the first MiB of each.
        for (long[] area : code) {
            long at = search(pid, area[0], Math.min(area[1], area[0] + (1 << 20)));
            if (at != 0) {
                return at;
            }
        }
        throw new IOException("pid " + pid + ": no syscall instruction in its vDSO or code to inject calls through");
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
