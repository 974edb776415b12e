package dev.amber.kind.file;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.ProcessOrBuilder;
import dev.amber.image.proto.RegularFile;
import dev.amber.kind.DumpContext;
import dev.amber.kind.RestoreContext;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A regular file that is open but unlinked ({@code /path (deleted)}, no link left): its contents
 * are saved in the first record of its inode (by device and inode number); every other
 * descriptor of the same inode that does not share the open file description (those the table
 * dups) refers to that record by being deleted with the same identity.
 *
 * <p>At restart the first record makes the file again, unlinked, in the same directory: created
 * under its old name with O_EXCL and unlinked at once, so that its link reads {@code /path
 * (deleted)} as before, or, if that name is taken by now, as an O_TMPFILE in the directory. The
 * tool writes the contents through {@code /proc/PUPPET/fd/N}; each descriptor then reopens the
 * file through {@code /proc/self/fd} with its own flags, which gives it its own open file
 * description as the original had.
 *
 * <p>Contents go into the process record (the image's metadata, limited to 64 MiB as a whole):
 * deleted files and memfds saved before them may hold {@link #MAX_BYTES} together; more is refused.
 */
final class DeletedFile {
    static final long MAX_BYTES = 32L << 20;
    static final String DELETED = " (deleted)";
    private static final int O_RDWR = 2, O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400, O_TRUNC = 01000,
            O_CLOEXEC = 02000000, O_PATH = 010000000, O_TMPFILE = 020200000, O_TMPFILE_ONLY = 020000000;
    private static final int AT_FDCWD = -100, SEEK_SET = 0, EEXIST = 17, S_IFMT = 0170000, S_IFREG = 0100000;

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
        int links = (Integer) Files.getAttribute(link, "unix:nlink");
        if (links != 0) {
            ctx.refuse("fd " + fd, what, "its name is gone but " + links + " other link(s) remain: not supported yet");
            return false;
        }
        file.setPath(path(target)).setDeleted(true);
        if (first(ctx.process(), file.getIdentity().getDev(), file.getIdentity().getInode()) != null) {
            return true;   // another descriptor of this inode holds the contents
        }
        long held = held(ctx.process()), size = file.getIdentity().getSize();
        if (held + size > MAX_BYTES) {
            ctx.refuse("fd " + fd, what, String.format("%d bytes, and %d already saved of deleted files and memfds:"
                    + " over the bound of %d MiB per process; make it smaller or keep it linked", size, held,
                    MAX_BYTES >> 20));
            return false;
        }
        file.setContents(read(link, size));
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
            total += d.getRegular().getContents().size() + d.getMemfd().getContents().size();
        }
        return total;
    }

    /** The first saved descriptor of deleted inode ({@code dev}, {@code inode}), or null. */
    private static Descriptor first(ProcessOrBuilder p, long dev, long inode) {
        for (Descriptor d : p.getDescriptorsList()) {
            RegularFile f = d.getRegular();
            if (!d.getShares() && f.getDeleted() && f.getIdentity().getDev() == dev
                    && f.getIdentity().getInode() == inode) {
                return d;
            }
        }
        return null;
    }

    /**
     * Opens descriptor {@code d} of a deleted file in the puppet: the first of its inode makes the
     * file; the others reopen that one, which the table has already put at its number (descriptors
     * are restored in order of their numbers, and the first has the lowest).
     */
    static long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        RegularFile f = d.getRegular();
        Descriptor first = first(ctx.process(), f.getIdentity().getDev(), f.getIdentity().getInode());
        String what = "fd " + d.getFd() + " deleted file " + f.getPath();
        long made = -1;
        int source;
        if (first == null || first.getFd() == d.getFd()) {
            made = make(ctx, d);
            source = (int) made;
        } else {
            source = first.getFd();
        }
        int flags = f.getFlags() & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_TMPFILE_ONLY) | O_NOCTTY;
        long fd = inj.check("reopen " + what, Arch.SYS_OPENAT, AT_FDCWD,
                inj.putString(0, "/proc/self/fd/" + source), flags, 0);
        if (made >= 0) {
            inj.check("close temporary fd " + made + " of " + what, Arch.SYS_CLOSE, made);
        }
        if (f.getPosition() != 0 && (f.getFlags() & O_PATH) == 0) {
            inj.check("lseek " + what, Arch.SYS_LSEEK, fd, f.getPosition(), SEEK_SET);
        }
        return fd;
    }

    /** Makes the file unlinked in its old directory with its contents and permissions; returns its fd. */
    private static long make(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        RegularFile f = d.getRegular();
        String what = "fd " + d.getFd() + " deleted file " + f.getPath();
        Path dir = Path.of(f.getPath()).getParent();
        int perms = f.getMode() & 07777;
        long fd = inj.call(Arch.SYS_OPENAT, AT_FDCWD, inj.putString(0, f.getPath()),
                O_RDWR | O_CREAT | O_EXCL | O_NOCTTY, perms);
        if (fd >= 0) {
            inj.check("unlink " + f.getPath() + " for " + what, Arch.SYS_UNLINK, inj.putString(0, f.getPath()));
        } else if (fd == -EEXIST) {
            // The name is taken by a new file: an unnamed one in the same directory instead.
            fd = inj.check("open(O_TMPFILE) in " + dir + " for " + what, Arch.SYS_OPENAT, AT_FDCWD,
                    inj.putString(0, dir.toString()), O_RDWR | O_TMPFILE | O_NOCTTY, perms);
        } else {
            throw new ErrnoException("create " + what, "in pid " + ctx.pid(), (int) -fd);
        }
        inj.check("fchmod " + what, Arch.SYS_FCHMOD, fd, perms);   // past the puppet's umask
        try (FileChannel ch = FileChannel.open(Path.of("/proc/" + ctx.pid() + "/fd/" + fd), StandardOpenOption.WRITE)) {
            ByteBuffer contents = f.getContents().asReadOnlyByteBuffer();
            while (contents.hasRemaining()) {
                ch.write(contents, contents.position());
            }
        }
        return fd;
    }
}
