package dev.amber.kind.file;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.FileIdentity;
import dev.amber.image.proto.RegularFile;
import dev.amber.kind.DumpContext;
import dev.amber.kind.ProcessKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.FdInfo;
import dev.amber.proc.Fds;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The descriptor table: regular files, directories and the harmless character devices, each
 * reopened by path with its flags and offset and put at its number. fdinfo's {@code flags}
 * carries the open flags plus O_CLOEXEC when the descriptor has FD_CLOEXEC.
 */
public final class FileKind implements ProcessKind {
    static final int O_ACCMODE = 03, O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400, O_TRUNC = 01000,
            O_CLOEXEC = 02000000, O_PATH = 010000000, O_TMPFILE_ONLY = 020000000;  // __O_TMPFILE, without O_DIRECTORY
    private static final int AT_FDCWD = -100, F_SETFD = 2, FD_CLOEXEC = 1, SEEK_SET = 0;
    private static final int S_IFMT = 0170000, S_IFREG = 0100000, S_IFDIR = 0040000, S_IFCHR = 0020000;

    /** Character devices that hold no state of the process's: reopening them is the same file. */
    private static final Set<String> STATELESS_DEVICES =
            Set.of("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom");

    @Override
    public String name() {
        return "file";
    }

    @Override
    public void dump(DumpContext ctx) throws IOException {
        int pid = ctx.pid();
        java.util.List<int[]> seen = new java.util.ArrayList<>();   // {fd, inode}
        for (int fd : Fds.list(pid)) {
            String target = Fds.readLink(pid, fd);
            int shared = sharedWith(pid, fd, seen);
            if (shared >= 0) {
                ctx.process().addDescriptors(Descriptor.newBuilder().setFd(fd).setShares(true).setSameAs(shared)
                        .setCloexec((FdInfo.read(pid, fd).flags() & O_CLOEXEC) != 0));
                continue;
            }
            FdInfo info = FdInfo.read(pid, fd);
            String refusal = FileClass.refusal(pid, target);
            if (refusal != null) {
                ctx.refuse("fd " + fd, refusal, FileClass.reason(target));
                continue;
            }
            Path link = Path.of("/proc/" + pid + "/fd/" + fd);
            Map<String, Object> a = Files.readAttributes(link, "unix:mode,size,lastModifiedTime,ino,dev,rdev");
            int mode = (Integer) a.get("mode");
            int type = mode & S_IFMT;
            if (type == S_IFCHR && !STATELESS_DEVICES.contains(target)) {
                ctx.refuse("fd " + fd, "character device " + target, "not supported yet");
                continue;
            }
            if (type != S_IFREG && type != S_IFDIR && type != S_IFCHR) {
                ctx.refuse("fd " + fd, "file " + target + " of type 0" + Integer.toOctalString(type >> 12),
                        "not supported yet");
                continue;
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
            seen.add(new int[] {fd, ((Long) a.get("ino")).intValue()});
            ctx.process().addDescriptors(Descriptor.newBuilder()
                    .setFd(fd)
                    .setCloexec((info.flags() & O_CLOEXEC) != 0)
                    .setRegular(file));
        }
    }

    /**
     * The lower descriptor whose open file description {@code fd} shares, or -1: kcmp(KCMP_FILE)
     * answers 0 for the same struct file. Only descriptors on the same inode are asked.
     */
    private static int sharedWith(int pid, int fd, java.util.List<int[]> seen) throws IOException {
        long ino;
        try {
            ino = (Long) Files.getAttribute(Path.of("/proc/" + pid + "/fd/" + fd), "unix:ino");
        } catch (IOException e) {
            return -1;
        }
        for (int[] s : seen) {
            if (s[1] == (int) ino && dev.amber.sys.Syscall.raw(Arch.SYS_KCMP, pid, pid, 0, s[0], fd, 0) == 0) {
                return s[0];
            }
        }
        return -1;
    }

    @Override
    public void restore(RestoreContext ctx) throws IOException {
        Injector inj = ctx.injector();
        for (Descriptor d : ctx.process().getDescriptorsList()) {
            if (d.getShares()) {
                inj.check("dup3 fd " + d.getSameAs() + " to fd " + d.getFd(), Arch.SYS_DUP3, d.getSameAs(), d.getFd(),
                        d.getCloexec() ? O_CLOEXEC : 0);
                continue;
            }
            RegularFile f = d.getRegular();
            int flags = f.getFlags() & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_TMPFILE_ONLY) | O_NOCTTY;
            String what = "fd " + d.getFd() + " " + f.getPath();
            long path = inj.putString(0, f.getPath());
            long fd = inj.check("open " + what, Arch.SYS_OPENAT, AT_FDCWD, path, flags, 0);
            if (fd != d.getFd()) {
                inj.check("dup3 " + what, Arch.SYS_DUP3, fd, d.getFd(), 0);
                inj.check("close", Arch.SYS_CLOSE, fd);
            }
            if (d.getCloexec()) {
                inj.check("fcntl(F_SETFD) " + what, Arch.SYS_FCNTL, d.getFd(), F_SETFD, FD_CLOEXEC);
            }
            if (f.getPosition() != 0 && (f.getFlags() & O_PATH) == 0) {
                inj.check("lseek " + what, Arch.SYS_LSEEK, d.getFd(), f.getPosition(), SEEK_SET);
            }
        }
    }
}
