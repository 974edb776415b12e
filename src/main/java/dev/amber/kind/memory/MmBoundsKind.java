package dev.amber.kind.memory;

import dev.amber.image.proto.MmBounds;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.Auxv;
import dev.amber.proc.ProcStat;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The mm bounds (code, data, brk, stack, arguments, environment), the auxiliary vector and the
 * executable link, so that brk(), /proc/PID/cmdline, environ, auxv and exe read as before.
 * Restored in one call, prctl(PR_SET_MM, PR_SET_MM_MAP): unlike the single-field PR_SET_MM
 * calls it needs no CAP_SYS_RESOURCE, which this kind of machine lacks. The kernel lets the
 * exe link change only once the old executable is no longer mapped, so this runs after memory.
 */
public final class MmBoundsKind implements ProcessKind {
    private static final int PR_SET_MM = 35, PR_SET_MM_MAP = 14;
    private static final int O_RDONLY = 0, O_CLOEXEC = 02000000, AT_FDCWD = -100;

    @Override
    public String name() {
        return "mm";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        int pid = ctx.pid();
        ProcStat st = ProcStat.read(pid);
        long brk = ctx.injector().check("brk(0)", Arch.SYS_BRK, 0);
        Path exe = Path.of("/proc/" + pid + "/exe");
        String exePath = Files.readSymbolicLink(exe).toString();
        MmBounds.Builder b = ctx.process().getMemoryBuilder().getBoundsBuilder()
                .setStartCode(st.startCode()).setEndCode(st.endCode())
                .setStartData(st.startData()).setEndData(st.endData())
                .setStartBrk(st.startBrk()).setBrk(brk)
                .setStartStack(st.startStack())
                .setArgStart(st.argStart()).setArgEnd(st.argEnd())
                .setEnvStart(st.envStart()).setEnvEnd(st.envEnd())
                .setAuxv(com.google.protobuf.ByteString.copyFrom(Files.readAllBytes(Path.of("/proc/" + pid + "/auxv"))))
                .setExePath(exePath);
        if (exePath.endsWith(" (deleted)")) {
            ctx.refuse("exe", "deleted executable " + exePath, "not supported yet");
        } else {
            VmaClassifier.identity(Path.of(exePath)).ifPresent(b::setExeIdentity);
        }
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        MmBounds b = ctx.process().getMemory().getBounds();
        Injector inj = ctx.injector();
        byte[] auxv = b.getAuxv().toByteArray();
        long auxvAt = inj.put(4096, auxv);
        long exePath = inj.putString(8192, b.getExePath());
        long exeFd = inj.check("open executable " + b.getExePath(), Arch.SYS_OPENAT, AT_FDCWD, exePath,
                O_RDONLY | O_CLOEXEC, 0);
        try {
            ByteBuffer map = ByteBuffer.allocate(104).order(ByteOrder.LITTLE_ENDIAN);
            map.putLong(b.getStartCode()).putLong(b.getEndCode()).putLong(b.getStartData()).putLong(b.getEndData())
                    .putLong(b.getStartBrk()).putLong(b.getBrk()).putLong(b.getStartStack())
                    .putLong(b.getArgStart()).putLong(b.getArgEnd()).putLong(b.getEnvStart()).putLong(b.getEnvEnd())
                    .putLong(auxvAt).putInt(auxv.length).putInt((int) exeFd);
            long at = inj.put(0, map.array());
            inj.check("prctl(PR_SET_MM_MAP)", Arch.SYS_PRCTL, PR_SET_MM, PR_SET_MM_MAP, at, 104, 0);
        } finally {
            inj.call(Arch.SYS_CLOSE, exeFd);
        }
    }

    /** The auxv of the image as pairs, for `amber show`. */
    static Auxv auxv(MmBounds b) {
        return Auxv.parse(b.getAuxv().toByteArray());
    }
}
