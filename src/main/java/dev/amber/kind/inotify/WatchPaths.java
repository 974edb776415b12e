package dev.amber.kind.inotify;

import dev.amber.proc.MountInfo;
import dev.amber.proc.MountInfoEntry;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

/**
 * The path of a watched inode, from the file handle fdinfo shows: open_by_handle_at(2) in Amber
 * (it needs CAP_DAC_READ_SEARCH, which the process itself may lack) with a descriptor of a mount
 * of the same file system (any will do: the handle names the inode within its superblock), then
 * the new descriptor's /proc/self/fd link. A directory's path is always connected; a file's is
 * as long as its dentry is cached, which an inotify watch on it makes likely but not certain, so
 * the answer is checked against the inode and device.
 */
final class WatchPaths {
    private static final int O_PATH = 010000000, O_DIRECTORY = 0200000, O_CLOEXEC = 02000000, AT_FDCWD = -100;

    private WatchPaths() {}

    /** The watched inode's path, or its link text {@code PATH (deleted)} if it has no name left. */
    static String resolve(InotifyMark m) throws IOException {
        String device = m.major() + ":" + m.minor();
        List<MountInfoEntry> mounts = MountInfo.read((int) ProcessHandle.current().pid()).stream()
                .filter(e -> e.major() == m.major() && e.minor() == m.minor())
                .sorted(Comparator.comparing((MountInfoEntry e) -> !e.root().equals("/"))
                        .thenComparingInt(e -> e.mountPoint().length()))
                .toList();
        if (mounts.isEmpty()) {
            throw new IOException("watched inode " + m.ino() + " is on device " + device
                    + ", which is not mounted where Amber can see it: not supported");
        }
        try (LocalBuffer b = new LocalBuffer(8 + m.handle().length + 4096)) {
            long mountFd = Syscall.raw(Arch.SYS_OPENAT, AT_FDCWD, b.putString(0, mounts.getFirst().mountPoint()),
                    O_DIRECTORY | O_CLOEXEC, 0);   // not O_PATH: open_by_handle_at answers EBADF to that
            if (mountFd < 0) {
                throw new IOException("cannot open the mount " + mounts.getFirst().mountPoint() + " of device " + device
                        + ": " + Errno.describe((int) -mountFd));
            }
            try {
                b.putInt(0, m.handle().length);
                b.putInt(4, m.handleType());
                b.put(8, m.handle());
                long fd = Syscall.raw(Arch.SYS_OPEN_BY_HANDLE_AT, mountFd, b.at(0), O_PATH | O_CLOEXEC, 0);
                if (fd < 0) {
                    throw new IOException("open_by_handle_at of watched inode " + m.ino() + " on device " + device
                            + ": " + Errno.describe((int) -fd) + " (a file system without file handles is not supported)");
                }
                try {
                    return checked(m, Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString());
                } finally {
                    Pidfd.close((int) fd);
                }
            } finally {
                Pidfd.close((int) mountFd);
            }
        }
    }

    private static String checked(InotifyMark m, String path) throws IOException {
        if (path.endsWith(" (deleted)")) {
            return path;   // no name to check it by: the caller looks for a descriptor that holds it
        }
        if (!path.startsWith("/")) {
            throw new IOException("watched inode " + m.ino() + " has no path (" + path + "): not supported");
        }
        long ino;
        try {
            ino = (Long) Files.getAttribute(Path.of(path), "unix:ino", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new IOException("watched inode " + m.ino() + " resolves to " + path + ", which cannot be read: " + e);
        }
        if (ino != m.ino()) {
            throw new IOException("watched inode " + m.ino() + " resolves to " + path + ", which is inode " + ino
                    + " now: the path is not reachable");
        }
        return path;
    }
}
