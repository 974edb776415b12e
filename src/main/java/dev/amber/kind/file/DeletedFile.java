package dev.amber.kind.file;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.ProcessOrBuilder;
import dev.amber.image.proto.RegularFile;
import dev.amber.kind.DumpContext;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A descriptor of a regular file that is open but unlinked ({@code /path (deleted)}, no link
 * left). The file is one object for the whole tree, its mappings included ({@link DeletedFiles}):
 * the first record of the tree to meet its (device, inode) holds its contents; every descriptor
 * that does not share an open file description with an earlier one (those the table dups) is
 * reopened at restart from the one remade file through {@code /proc/self/fd}, with its own flags,
 * which gives it its own open file description as the original had.
 *
 * <p>Contents go into the process record (the image's metadata, limited to 64 MiB as a whole):
 * deleted files and memfds saved before them may hold {@link #MAX_BYTES} together; more is refused.
 */
final class DeletedFile {
    static final long MAX_BYTES = 32L << 20;
    static final String DELETED = " (deleted)";
    private static final int O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400, O_TRUNC = 01000,
            O_CLOEXEC = 02000000, O_PATH = 010000000, O_TMPFILE_ONLY = 020000000;
    private static final int AT_FDCWD = -100, SEEK_SET = 0, S_IFMT = 0170000, S_IFREG = 0100000;

    private DeletedFile() {}

    /** Whether a descriptor link names an unlinked file (not a memfd, whose link reads so too). */
    static boolean isDeleted(String target) {
        return target.startsWith("/") && target.endsWith(DELETED) && !target.startsWith("/memfd:");
    }

    /** The name the file had: the link without " (deleted)". */
    static String path(String target) {
        return target.substring(0, target.length() - DELETED.length());
    }

    /**
     * Marks {@code file} deleted under its old name and, for the first descriptor of its inode,
     * adds the contents; refuses (and returns false) what cannot be saved so.
     */
    static boolean dump(DumpContext ctx, int fd, String target, RegularFile.Builder file) throws IOException {
        Path link = Path.of("/proc/" + ctx.pid() + "/fd/" + fd);
        String what = "deleted file " + path(target);
        if ((file.getMode() & S_IFMT) != S_IFREG) {
            ctx.refuse("fd " + fd, what, String.format("not a regular file (mode 0%o): not supported", file.getMode()));
            return false;
        }
        file.setPath(path(target)).setDeleted(true)
                .setUid((Integer) Files.getAttribute(link, "unix:uid")).setGid((Integer) Files.getAttribute(link, "unix:gid"))
                .setAtimeNanos(((FileTime) Files.getAttribute(link, "unix:lastAccessTime")).to(TimeUnit.NANOSECONDS));
        if ((Integer) Files.getAttribute(link, "unix:nlink") != 0) {
            // Its name is gone, but other names of the inode remain: the same file, by handle.
            FileHandles.Handle h = FileHandles.of(link);
            file.setHandle(ByteString.copyFrom(h.bytes())).setHandleType(h.type());
            return true;
        }
        if (!DeletedFiles.claim(ctx.tree(), file.getIdentity().getDev(), file.getIdentity().getInode())) {
            return true;   // another record of the tree (a descriptor or a mapping) holds the contents
        }
        long held = held(ctx.process()), size = file.getIdentity().getSize();
        List<long[]> extents = FileExtents.data(link, size);
        long data = extents.stream().mapToLong(e -> e[1] - e[0]).sum();
        if (held + data > MAX_BYTES) {
            ctx.refuse("fd " + fd, what, String.format("%d bytes of data (of %d), and %d already saved of deleted files"
                    + " and memfds: over the bound of %d MiB per process; make it smaller or keep it linked", data, size,
                    held, MAX_BYTES >> 20));
            return false;
        }
        if (data == size) {
            file.setContents(read(link, size));
        } else {   // holes: its data alone, so that a large sparse file costs what it holds
            file.setSparse(true).addAllExtents(FileExtents.read(link, extents));
        }
        return true;
    }

    private static ByteString read(Path link, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(link, StandardOpenOption.READ)) {
            ByteBuffer contents = ByteBuffer.allocate(Math.toIntExact(size));
            while (contents.hasRemaining() && ch.read(contents, contents.position()) > 0) {
                // the process is stopped: nothing changes the size meanwhile
            }
            if (contents.hasRemaining()) {
                throw new IOException(link + ": read " + contents.position() + " of " + size + " bytes");
            }
            return ByteString.copyFrom(contents.flip());
        }
    }

    /** Bytes of deleted-file and memfd contents the descriptors saved so far hold. */
    private static long held(ProcessOrBuilder p) {
        long total = 0;
        for (Descriptor d : p.getDescriptorsList()) {
            total += d.getRegular().getContents().size() + d.getMemfd().getContents().size()
                    + d.getRegular().getExtentsList().stream().mapToLong(e -> e.getData().size()).sum();
        }
        return total;
    }

    /**
     * Opens descriptor {@code d} of a deleted file in the puppet: a new open file description of
     * the tree's one remade file ({@link DeletedFiles}), reopened through {@code /proc/self/fd}
     * with the descriptor's own flags and offset, as the original had.
     */
    static long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        RegularFile f = d.getRegular();
        String what = "fd " + d.getFd() + " deleted file " + f.getPath();
        if (!f.getHandle().isEmpty()) {
            return linkedElsewhere(ctx, f, what);
        }
        long source = DeletedFiles.open(ctx, f.getIdentity().getDev(), f.getIdentity().getInode(), what);
        // A file made with O_TMPFILE (tmpfile(3)) keeps O_TMPFILE's bits, O_DIRECTORY among them, in
        // its flags; reopened through /proc with O_DIRECTORY, a regular file is ENOTDIR.
        int tmpfile = (f.getFlags() & O_TMPFILE_ONLY) != 0 ? O_TMPFILE_ONLY | 0200000 : 0;   // O_DIRECTORY 0200000
        int flags = f.getFlags() & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | tmpfile) | O_NOCTTY;
        long fd = inj.check("reopen " + what, Arch.SYS_OPENAT, AT_FDCWD,
                inj.putString(0, "/proc/self/fd/" + source), flags, 0);
        inj.check("close temporary fd " + source + " of " + what, Arch.SYS_CLOSE, source);
        if (f.getPosition() != 0 && (f.getFlags() & O_PATH) == 0) {
            inj.check("lseek " + what, Arch.SYS_LSEEK, fd, f.getPosition(), SEEK_SET);
        }
        return fd;
    }

    /**
     * A deleted file that still has other names, opened by its handle in Amber with the
     * descriptor's flags and copied into the puppet (pidfd_getfd), where its offset is set.
     */
    private static long linkedElsewhere(RestoreContext ctx, RegularFile f, String what) throws IOException {
        int[] device = FileHandles.split(f.getIdentity().getDev());
        int flags = f.getFlags() & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_TMPFILE_ONLY | 0200000) | O_NOCTTY;
        int amberFd;
        try {
            amberFd = ctx.tree().keep(FileHandles.open(device[0], device[1], new FileHandles.Handle(f.getHandleType(),
                    f.getHandle().toByteArray()), flags, what));
        } catch (dev.amber.sys.ErrnoException e) {
            throw new IOException(e.getMessage() + ": its other names were removed since the checkpoint, or it is"
                    + " on another file system now; it cannot be opened again");
        }
        Injector inj = ctx.injector();
        long fd = dev.amber.kind.TreeRestore.pullFromAmber(inj, amberFd);
        if (f.getPosition() != 0 && (f.getFlags() & O_PATH) == 0) {
            inj.check("lseek " + what, Arch.SYS_LSEEK, fd, f.getPosition(), SEEK_SET);
        }
        return fd;
    }
}
