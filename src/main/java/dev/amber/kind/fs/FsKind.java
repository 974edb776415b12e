package dev.amber.kind.fs;

import dev.amber.image.proto.FileSystem;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.ProcStatus;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Working directory, root directory and umask. chroot() runs last among the kinds that open
 * paths, since every path after it resolves inside the new root.
 */
public final class FsKind implements ProcessKind {
    @Override
    public String name() {
        return "fs";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        int pid = ctx.pid();
        String cwd = Files.readSymbolicLink(Path.of("/proc/" + pid + "/cwd")).toString();
        String root = Files.readSymbolicLink(Path.of("/proc/" + pid + "/root")).toString();
        int umask = ProcStatus.read(pid).umask();
        for (String[] d : new String[][] {{"cwd", cwd}, {"root", root}}) {
            if (d[1].endsWith(" (deleted)")) {
                ctx.refuse(d[0], "deleted directory " + d[1], "not supported yet");
            }
        }
        ctx.process().setFs(FileSystem.newBuilder().setCwd(cwd).setRoot(root).setUmask(Math.max(umask, 0)));
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        FileSystem fs = ctx.process().getFs();
        Injector inj = ctx.injector();
        inj.check("chdir " + fs.getCwd(), Arch.SYS_CHDIR, inj.putString(0, fs.getCwd()));
        inj.call(Arch.SYS_UMASK, fs.getUmask());
        if (!fs.getRoot().equals("/")) {
            inj.check("chroot " + fs.getRoot(), Arch.SYS_CHROOT, inj.putString(0, fs.getRoot()));
        }
    }
}
