package dev.amber.kind.file;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.FileIdentity;
import dev.amber.image.proto.RegularFile;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Regular files and directories, reopened by path with their flags and offset. fdinfo's
 * {@code flags} carries the open flags (plus O_CLOEXEC, which the descriptor table handles).
 * Device nodes are kind.device's; images of format 1.0 saved /dev/null and its family here, and
 * they are still restored here, by path.
 */
public final class RegularFileKind implements FdKind {
    static final int O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400, O_TRUNC = 01000, O_CLOEXEC = 02000000,
            O_PATH = 010000000, O_TMPFILE_ONLY = 020000000;  // __O_TMPFILE, without O_DIRECTORY
    private static final int AT_FDCWD = -100, SEEK_SET = 0;
    private static final int S_IFMT = 0170000, S_IFREG = 0100000, S_IFDIR = 0040000, S_IFLNK = 0120000,
            S_IFIFO = 0010000, S_IFSOCK = 0140000;

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.REGULAR;
    }

    @Override
    public boolean handles(String target) {
        return FileClass.refusal(target) == null || DeletedFile.isDeleted(target);
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        Path link = Path.of("/proc/" + ctx.pid() + "/fd/" + fd);
        Map<String, Object> a = Files.readAttributes(link, "unix:mode,size,lastModifiedTime,ino,dev,rdev");
        int mode = (Integer) a.get("mode");
        int type = mode & S_IFMT;
        // An O_PATH descriptor holds a name without opening what it names: a symbolic link
        // (with O_NOFOLLOW), a FIFO or a socket's file are reopened the same way.
        boolean pathOnly = (info.flags() & O_PATH) != 0 && (type == S_IFLNK || type == S_IFIFO || type == S_IFSOCK);
        if (type != S_IFREG && type != S_IFDIR && !pathOnly) {   // device nodes that kind.device passed on: pseudo-terminals
            ctx.refuse("fd " + fd, "file " + target + " of type 0" + Integer.toOctalString(type >> 12),
                    "not supported yet");
            return;
        }
        RegularFile.Builder file = RegularFile.newBuilder()
                .setPath(target)
                .setFlags(info.flags())
                .setPosition(info.pos())
                .setMode(mode)
                .setRdev(((Long) a.get("rdev")).intValue());
        if (type == S_IFREG) {
            file.setIdentity(FileIdentity.newBuilder()
                    .setSize((Long) a.get("size"))
                    .setMtimeNanos(((FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS))
                    .setInode((Long) a.get("ino"))
                    .setDev((Long) a.get("dev")));
        }
        String proc = ProcFile.relative(ctx.pid(), info.mntId(), target);
        if (proc != null) {
            if (!ProcFile.dump(ctx, fd, target, proc, info.flags(), file)) {
                return;
            }
        } else if (DeletedFile.isDeleted(target) && type == S_IFSOCK) {
            ctx.refuse("fd " + fd, "O_PATH descriptor of the removed socket file " + target,
                    "not supported yet (a socket cannot be bound to a name again for it alone)");
            return;
        } else if (DeletedFile.isDeleted(target) && type != S_IFREG) {
            String path = DeletedFile.path(target);
            file.setPath(path).setDeleted(true).setNode(DeletedNodes.of(link, path));
        } else if (DeletedFile.isDeleted(target) && !DeletedFile.dump(ctx, fd, target, file)) {
            return;
        }
        d.setRegular(file);
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        RegularFile f = d.getRegular();
        if (f.getDeleted() && !f.hasNode()) {
            return DeletedFile.restore(ctx, d);
        }
        int flags = f.getFlags() & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_TMPFILE_ONLY) | O_NOCTTY;
        String path = f.hasNode() ? DeletedNodes.path(ctx.tree(), f.getNode())
                : f.getProc() ? ProcFile.openPath(ctx, f) : f.getPath();
        String what = "fd " + d.getFd() + " " + path;
        long fd = inj.check("open " + what, Arch.SYS_OPENAT, AT_FDCWD, inj.putString(0, path), flags, 0);
        if (f.getPosition() != 0 && (f.getFlags() & O_PATH) == 0) {
            inj.check("lseek " + what, Arch.SYS_LSEEK, fd, f.getPosition(), SEEK_SET);
        }
        return fd;
    }
}
