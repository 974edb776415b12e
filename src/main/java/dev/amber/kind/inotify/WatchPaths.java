package dev.amber.kind.inotify;

import dev.amber.kind.file.FileHandles;
import dev.amber.sys.Pidfd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The path of a watched inode, from the file handle fdinfo shows: open_by_handle_at(2) in Amber
 * (it needs CAP_DAC_READ_SEARCH, which the process itself may lack) with a descriptor of a mount
 * of the same file system (any will do: the handle names the inode within its superblock), then
 * the new descriptor's /proc/self/fd link. A directory's path is always connected; a file's is
 * as long as its dentry is cached, which an inotify watch on it makes likely but not certain, so
 * the answer is checked against the inode and device.
 */
final class WatchPaths {
    private static final int O_PATH = 010000000;

    private WatchPaths() {}

    /** The watched inode's path, or its link text {@code PATH (deleted)} if it has no name left. */
    static String resolve(InotifyMark m) throws IOException {
        int fd = FileHandles.open(m.major(), m.minor(), new FileHandles.Handle(m.handleType(), m.handle()), O_PATH,
                "watched inode " + m.ino());
        try {
            return checked(m, Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString());
        } finally {
            Pidfd.close(fd);
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
