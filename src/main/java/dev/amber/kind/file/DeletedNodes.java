package dev.amber.kind.file;

import dev.amber.image.proto.DeletedNode;
import dev.amber.kind.TreeRestore;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Directories and FIFOs removed while a process still uses them (a working directory, an open
 * directory, an open FIFO): the kernel keeps the inode as long as it is used, with no name and
 * (a directory) no entries; its link reads {@code PATH (deleted)}. Nothing can be created inside
 * such a directory, so it holds nothing to save but its own attributes.
 *
 * <p>A restart makes each node once (by device and inode, however many descriptors and working
 * directories of the tree use it) under its old name, making missing parent directories too, with
 * its mode, owner and times; every process opens it (or chdirs into it) by that path; and once
 * the whole tree is restored the node and the parents made for it are removed again, newest first,
 * which leaves it deleted as before. If its old name is taken by now, it is made under a name of
 * its own in that directory ({@code .amber-deleted-INODE}) instead, and only the link's name
 * differs. A failed restart removes what it made too.
 */
public final class DeletedNodes {
    private static final int AT_FDCWD = -100, S_IFMT = 0170000, S_IFDIR = 0040000, S_IFIFO = 0010000, S_IFLNK = 0120000,
            AT_REMOVEDIR = 0x200, AT_SYMLINK_NOFOLLOW = 0x100, SYS_UTIMENSAT = 280, SYS_MKDIRAT = 258, SYS_UNLINKAT = 263,
            SYS_SYMLINKAT = 266, SYS_READLINKAT = 267, SYS_FCHMODAT = 268, O_PATH = 010000000, O_CLOEXEC = 02000000;

    private DeletedNodes() {}

    /** The node behind {@code link} (a /proc link that reads {@code path (deleted)}), by its inode's attributes. */
    public static DeletedNode of(Path link, String path) throws IOException {
        Map<String, Object> a = Files.readAttributes(link, "unix:mode,uid,gid,lastAccessTime,lastModifiedTime,dev,ino");
        return DeletedNode.newBuilder().setPath(path).setMode((Integer) a.get("mode"))
                .setUid((Integer) a.get("uid")).setGid((Integer) a.get("gid"))
                .setAtimeNanos(((FileTime) a.get("lastAccessTime")).to(TimeUnit.NANOSECONDS))
                .setMtimeNanos(((FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS))
                .setDev((Long) a.get("dev")).setInode((Long) a.get("ino"))
                .setSymlinkTarget(((Integer) a.get("mode") & S_IFMT) == S_IFLNK ? symlinkTarget(link) : "").build();
    }

    /**
     * What the symbolic link a descriptor holds (O_PATH | O_NOFOLLOW) points to. Opening its
     * /proc link with O_PATH gives the link itself, not what it points to, and readlinkat(2) with
     * an empty name reads such a descriptor's link.
     */
    public static String symlinkTarget(Path link) throws IOException {
        try (LocalBuffer b = new LocalBuffer(4096 + link.toString().length() * 4L + 1)) {
            long fd = Syscall.raw(Arch.SYS_OPENAT, AT_FDCWD, b.putString(4096, link.toString()), O_PATH | O_CLOEXEC, 0);
            check("open " + link, fd);
            try {
                long n = Syscall.raw(SYS_READLINKAT, fd, b.putString(4096, ""), b.at(0), 4095);
                check("readlinkat " + link, n);
                return new String(b.get(0, (int) n), java.nio.charset.StandardCharsets.UTF_8);
            } finally {
                Syscall.raw(Arch.SYS_CLOSE, fd, 0, 0);
            }
        }
    }

    /** Whether {@code mode} is a kind of node this class makes again. */
    public static boolean makes(int mode) {
        return (mode & S_IFMT) == S_IFDIR || (mode & S_IFMT) == S_IFIFO || (mode & S_IFMT) == S_IFLNK;
    }

    /** The path at which {@code node} can be opened during this restart: made the first time it is asked for. */
    public static String path(TreeRestore tree, DeletedNode node) throws IOException {
        return tree.hold(List.of("deleted node", node.getDev(), node.getInode()), () -> make(tree, node));
    }

    private static String make(TreeRestore tree, DeletedNode node) throws IOException {
        Path wanted = Path.of(node.getPath());
        List<Path> made = new ArrayList<>();   // in the order made; removed newest first
        Runnable undo = () -> remove(made);
        tree.atEnd(undo::run);
        tree.onFailure(undo::run);
        Path parent = wanted.getParent();
        List<Path> missing = new ArrayList<>();
        for (Path p = parent; p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS); p = p.getParent()) {
            missing.addFirst(p);
        }
        for (Path p : missing) {
            check("mkdir " + p, syscall(SYS_MKDIRAT, p, 0700));
            made.add(p);
        }
        Path at = Files.exists(wanted, LinkOption.NOFOLLOW_LINKS) ? parent.resolve(".amber-deleted-" + node.getInode())
                : wanted;
        int type = node.getMode() & S_IFMT;
        String what = "deleted " + (type == S_IFDIR ? "directory " : type == S_IFLNK ? "symbolic link " : "FIFO ")
                + node.getPath();
        long r = type == S_IFDIR ? syscall(SYS_MKDIRAT, at, 0700)
                : type == S_IFLNK ? symlink(node.getSymlinkTarget(), at) : mknod(at, S_IFIFO | 0600);
        check("make " + what + " at " + at, r);
        made.add(at);
        Files.setAttribute(at, "unix:uid", node.getUid(), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(at, "unix:gid", node.getGid(), LinkOption.NOFOLLOW_LINKS);
        if (type != S_IFLNK) {   // a symbolic link's mode is always 0777
            check("chmod " + what, syscall(SYS_FCHMODAT, at, node.getMode() & 07777));   // after chown, which clears set-id bits
        }
        check("utimensat " + what, utimensat(at, node.getAtimeNanos(), node.getMtimeNanos()));   // not by opening: a FIFO's open blocks
        return at.toString();
    }

    private static void remove(List<Path> made) {
        for (Path p : made.reversed()) {
            boolean dir = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
            try (LocalBuffer b = new LocalBuffer(p.toString().length() * 4L + 1)) {
                long r = Syscall.raw(SYS_UNLINKAT, AT_FDCWD, b.putString(0, p.toString()), dir ? AT_REMOVEDIR : 0);
                if (r < 0) {
                    System.err.println("amber: warning: cannot remove " + p + ", made for the restart: "
                            + dev.amber.sys.Errno.describe((int) -r));
                }
            }
        }
        made.clear();
    }

    private static long syscall(int nr, Path p, int mode) {
        try (LocalBuffer b = new LocalBuffer(p.toString().length() * 4L + 1)) {
            return Syscall.raw(nr, AT_FDCWD, b.putString(0, p.toString()), mode);
        }
    }

    /** utimensat(2) takes {@code struct timespec times[2]}: access, then modification; seconds and nanoseconds each. */
    private static long utimensat(Path p, long atimeNanos, long mtimeNanos) {
        try (LocalBuffer b = new LocalBuffer(32 + p.toString().length() * 4L + 1)) {
            b.putLong(0, Math.floorDiv(atimeNanos, 1_000_000_000L));
            b.putLong(8, Math.floorMod(atimeNanos, 1_000_000_000L));
            b.putLong(16, Math.floorDiv(mtimeNanos, 1_000_000_000L));
            b.putLong(24, Math.floorMod(mtimeNanos, 1_000_000_000L));
            return Syscall.raw(SYS_UTIMENSAT, AT_FDCWD, b.putString(32, p.toString()), b.at(0), AT_SYMLINK_NOFOLLOW);
        }
    }

    private static long symlink(String target, Path p) {
        byte[] t = target.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        try (LocalBuffer b = new LocalBuffer(t.length + 1 + p.toString().length() * 4L + 1)) {
            return Syscall.raw(SYS_SYMLINKAT, b.putString(0, target), AT_FDCWD, b.putString(t.length + 1, p.toString()));
        }
    }

    private static long mknod(Path p, int mode) {
        try (LocalBuffer b = new LocalBuffer(p.toString().length() * 4L + 1)) {
            return Syscall.raw(Arch.SYS_MKNODAT, AT_FDCWD, b.putString(0, p.toString()), mode, 0);
        }
    }

    private static void check(String call, long r) throws IOException {
        if (r < 0) {
            throw new ErrnoException(call, "for the restart", (int) -r);
        }
    }
}
