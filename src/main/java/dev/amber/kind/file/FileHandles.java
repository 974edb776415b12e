package dev.amber.kind.file;

import dev.amber.proc.MountInfo;
import dev.amber.proc.MountInfoEntry;
import dev.amber.sys.Arch;
import dev.amber.sys.Errno;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

/**
 * File handles (name_to_handle_at(2), open_by_handle_at(2)): a name for an inode within its file
 * system that needs no path, so a file can be opened again when no path leads to the link that
 * was opened. Opening by handle needs CAP_DAC_READ_SEARCH, so Amber does it, with a descriptor of
 * any mount of the same file system (the handle names the inode within its superblock).
 */
public final class FileHandles {
    private static final int AT_FDCWD = -100, AT_SYMLINK_FOLLOW = 0x400, MAX_HANDLE_SZ = 128,
            O_DIRECTORY = 0200000, O_CLOEXEC = 02000000;

    /** An inode's handle: the file system's type tag and bytes. */
    public record Handle(int type, byte[] bytes) {}

    private FileHandles() {}

    /** The handle of what {@code path} leads to (a /proc/PID/fd link: the open file's inode). */
    public static Handle of(Path path) throws IOException {
        try (LocalBuffer b = new LocalBuffer(8 + MAX_HANDLE_SZ + 8 + path.toString().length() * 4L + 1)) {
            b.putInt(0, MAX_HANDLE_SZ);
            long mountId = 8 + MAX_HANDLE_SZ;
            long r = Syscall.raw(Arch.SYS_NAME_TO_HANDLE_AT, AT_FDCWD, b.putString(mountId + 8, path.toString()), b.at(0),
                    b.at(mountId), AT_SYMLINK_FOLLOW, 0);
            if (r < 0) {
                throw new IOException("name_to_handle_at " + path + ": " + Errno.describe((int) -r)
                        + " (a file system without file handles is not supported)");
            }
            return new Handle(b.getInt(4), b.get(8, b.getInt(0)));
        }
    }

    /** Opens the inode of {@code handle} on device {@code major:minor} with {@code flags}; returns Amber's descriptor. */
    public static int open(int major, int minor, Handle handle, int flags, String what) throws IOException {
        String device = major + ":" + minor;
        List<MountInfoEntry> mounts = MountInfo.read((int) ProcessHandle.current().pid()).stream()
                .filter(e -> e.major() == major && e.minor() == minor)
                .sorted(Comparator.comparing((MountInfoEntry e) -> !e.root().equals("/"))
                        .thenComparingInt(e -> e.mountPoint().length()))
                .toList();
        if (mounts.isEmpty()) {
            throw new IOException(what + " is on device " + device + ", which is not mounted where Amber can see it");
        }
        String mount = mounts.getFirst().mountPoint();
        try (LocalBuffer b = new LocalBuffer(8 + handle.bytes().length + mount.length() * 4L + 1)) {
            long mountFd = Syscall.raw(Arch.SYS_OPENAT, AT_FDCWD, b.putString(0, mount), O_DIRECTORY | O_CLOEXEC, 0);
            if (mountFd < 0) {   // not O_PATH: open_by_handle_at answers EBADF to that
                throw new IOException("cannot open the mount " + mount + " of device " + device + " for " + what + ": "
                        + Errno.describe((int) -mountFd));
            }
            try {
                b.putInt(0, handle.bytes().length);
                b.putInt(4, handle.type());
                b.put(8, handle.bytes());
                long fd = Syscall.raw(Arch.SYS_OPEN_BY_HANDLE_AT, mountFd, b.at(0), flags | O_CLOEXEC, 0);
                if (fd < 0) {
                    throw new dev.amber.sys.ErrnoException("open_by_handle_at " + what, "on device " + device, (int) -fd);
                }
                return (int) fd;
            } finally {
                Pidfd.close((int) mountFd);
            }
        }
    }

    /** The major and minor numbers of a st_dev value, as the kernel's new_decode_dev splits them. */
    public static int[] split(long dev) {
        return new int[] {(int) (((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffL)), (int) ((dev & 0xff) | ((dev >> 12) & ~0xffL))};
    }
}
