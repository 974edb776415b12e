package dev.amber.image;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * An image directory being written. The directory is created 0700 and every file 0600 by the
 * creating call itself (an image holds the process's secrets: there is no moment where a chmod
 * would be needed). The inventory is written under a temporary name and renamed into place, so a
 * directory without inventory.pb is never an image; {@link #abort} removes everything this object
 * created.
 */
final class ImageDirectory {
    private static final FileAttribute<Set<PosixFilePermission>> DIR_MODE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    private static final FileAttribute<Set<PosixFilePermission>> FILE_MODE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final Set<PosixFilePermission> PRIVATE = EnumSet.of(
            PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
            PosixFilePermission.OWNER_EXECUTE);
    private static final String TEMP_INVENTORY = "." + ImageFormat.INVENTORY + ".tmp";

    private final Path dir;
    private final boolean createdDir;
    private final List<Path> created = new ArrayList<>();

    private ImageDirectory(Path dir, boolean createdDir) {
        this.dir = dir;
        this.createdDir = createdDir;
    }

    /** Creates {@code dir}, or takes an existing empty one of the caller's (see {@link #existing}). */
    static ImageDirectory create(Path dir) throws ImageException {
        try {
            Files.createDirectory(dir, DIR_MODE);
            return new ImageDirectory(dir, true);
        } catch (FileAlreadyExistsException e) {
            return existing(dir);
        } catch (NoSuchFileException e) {
            throw new ImageException(
                    "cannot create image directory " + dir + ": its parent does not exist");
        } catch (IOException e) {
            throw new ImageException("cannot create image directory " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * An existing directory is taken when it is empty and belongs to the caller (scripts written
     * for CRIU make the directory first); it is made 0700 before anything is written in it. One
     * that holds anything, or belongs to another user (who could read the image), is refused.
     */
    private static ImageDirectory existing(Path dir) throws ImageException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw refused(dir, "it exists and is not a directory");
        }
        boolean empty;
        int owner;
        try (var entries = Files.list(dir)) {
            empty = entries.findAny().isEmpty();
            owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw refused(dir, e.getMessage());
        }
        if (!empty) {
            throw refused(dir, "directory is not empty: give an empty or a new directory");
        }
        int caller = effectiveUid();
        if (owner != caller) {
            throw refused(dir, "it belongs to uid " + owner + ", not to the caller (uid " + caller
                    + "): an image holds secrets; give a directory of your own or a new one");
        }
        try {
            Files.setPosixFilePermissions(dir, PRIVATE);
        } catch (IOException e) {
            throw refused(dir, "cannot make it rwx------: " + e.getMessage());
        }
        return new ImageDirectory(dir, false);
    }

    /** The effective uid of this process: the second field of the Uid line of its status. */
    private static int effectiveUid() throws ImageException {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new ImageException("cannot read /proc/self/status: " + e.getMessage(), e);
        }
        throw new ImageException("/proc/self/status has no Uid line");
    }

    private static ImageException refused(Path dir, String why) {
        return new ImageException("cannot write an image to " + dir + ": " + why);
    }

    Path path() {
        return dir;
    }

    /** A new file, 0600 from its creation; it must not exist yet. */
    FileChannel createFile(String name) throws ImageException {
        Path file = dir.resolve(name);
        try {
            FileChannel channel = FileChannel.open(file,
                    EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), FILE_MODE);
            created.add(file);
            return channel;
        } catch (IOException e) {
            throw new ImageException("cannot create image file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Like {@link #createFile}, but readable too, so that it can be mapped. */
    FileChannel createMappableFile(String name) throws ImageException {
        Path file = dir.resolve(name);
        try {
            FileChannel channel = FileChannel.open(file, EnumSet.of(StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.READ, StandardOpenOption.WRITE), FILE_MODE);
            created.add(file);
            return channel;
        } catch (IOException e) {
            throw new ImageException("cannot create image file " + file + ": " + e.getMessage(), e);
        }
    }

    /** A file this object created earlier, reopened to add to its end. */
    FileChannel appendTo(String name) throws ImageException {
        Path file = dir.resolve(name);
        try {
            return FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new ImageException("cannot reopen image file " + file + ": " + e.getMessage(), e);
        }
    }

    static void writeFully(FileChannel channel, java.nio.ByteBuffer piece, Path file)
            throws ImageException {
        try {
            while (piece.hasRemaining()) {
                channel.write(piece);
            }
        } catch (IOException e) {
            throw new ImageException("cannot write image file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Writes the inventory under a temporary name, then renames it into place atomically. */
    long commit(byte[] inventory) throws ImageException {
        Path temp = dir.resolve(TEMP_INVENTORY);
        try (FileChannel channel = createFile(TEMP_INVENTORY)) {
            writeFully(channel, java.nio.ByteBuffer.wrap(inventory), temp);
        } catch (IOException e) {
            throw new ImageException("cannot write image file " + temp + ": " + e.getMessage(), e);
        }
        Path target = dir.resolve(ImageFormat.INVENTORY);
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            created.set(created.indexOf(temp), target);
        } catch (IOException e) {
            throw new ImageException("cannot rename " + temp + " to " + target + ": " + e.getMessage(), e);
        }
        return inventory.length;
    }

    /** Removes every file this object created, inventory first, then the directory if it made it. */
    void abort() {
        for (int i = created.size() - 1; i >= 0; i--) {
            deleteQuietly(created.get(i));
        }
        created.clear();
        if (createdDir) {
            deleteQuietly(dir);
        }
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // Best effort: the inventory went first, so what is left is never taken for an image.
        }
    }
}
