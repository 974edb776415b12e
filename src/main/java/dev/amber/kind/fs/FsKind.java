package dev.amber.kind.fs;

import dev.amber.image.proto.FileSystem;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.file.DeletedNodes;
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
    private static final String DELETED = " (deleted)";

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
        FileSystem.Builder fs = FileSystem.newBuilder().setCwd(cwd).setRoot(root).setUmask(Math.max(umask, 0));
        if (cwd.endsWith(DELETED)) {   // removed while the process works in it: made again for the restart
            String path = cwd.substring(0, cwd.length() - DELETED.length());
            Path link = Path.of("/proc/" + pid + "/cwd");
            String deadProc = DeadProcDir.of(link, path);
            if (deadProc != null) {
                fs.setCwd(path).setCwdDeadProc(deadProc);
            } else {
                fs.setCwd(path).setCwdNode(DeletedNodes.of(link, path));
            }
        }
        if (root.endsWith(DELETED)) {
            ctx.refuse("root", "deleted directory " + root, "a root directory that was removed: not supported yet");
        }
        ctx.process().setFs(fs);
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        FileSystem fs = ctx.process().getFs();
        Injector inj = ctx.injector();
        if (!fs.getCwdDeadProc().isEmpty()) {
            DeadProcDir.enter(inj, ctx.tree(), fs.getCwdDeadProc());
        } else {
            String cwd = fs.hasCwdNode() ? DeletedNodes.path(ctx.tree(), fs.getCwdNode()) : fs.getCwd();
            inj.check("chdir " + cwd, Arch.SYS_CHDIR, inj.putString(0, cwd));
        }
        inj.call(Arch.SYS_UMASK, fs.getUmask());
        if (!fs.getRoot().equals("/")) {
            inj.check("chroot " + fs.getRoot(), Arch.SYS_CHROOT, inj.putString(0, fs.getRoot()));
        }
    }
}
