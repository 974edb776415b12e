package dev.amber.kind.file;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.FileExtent;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.RegularFile;
import dev.amber.image.proto.Vma;
import dev.amber.kind.RestoreContext;
import dev.amber.kind.TreeDump;
import dev.amber.kind.TreeRestore;
import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.Pidfd;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.TimeUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A deleted (unlinked) regular file is one object (one inode) however many processes of the tree
 * map it or hold descriptors of it: a /dev/shm file mapped MAP_SHARED, unlinked, and inherited
 * across fork is how test frameworks keep their counters. So it is saved once per tree: the first
 * record that meets its (device, inode) at checkpoint, a mapping ({@code Vma.contents}) or a
 * descriptor ({@code RegularFile.contents}), holds the whole file (every byte, not only the pages
 * mapped) with its permissions and owner.
 *
 * <p>At restart the first process that needs it makes it again, unlinked, in its old directory:
 * created under its old name with O_EXCL and unlinked at once, so that fstat shows no link and
 * maps and fd links read {@code PATH (deleted)} as before, or, if that name is taken by now, as an
 * O_TMPFILE in the directory. Amber keeps a descriptor of it for the rest of the restart, and every
 * later mapping and descriptor of the tree, in any process, comes from that one file.
 */
public final class DeletedFiles {
    private static final int O_RDWR = 2, O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400, O_CLOEXEC = 02000000,
            O_TMPFILE = 020200000;
    private static final int AT_FDCWD = -100, EEXIST = 17, SYS_FTRUNCATE = 77, BLOCK = 4096;

    private static final ByteBuffer ZEROS = ByteBuffer.allocate(BLOCK).asReadOnlyBuffer();

    private DeletedFiles() {}

    /** The file as saved: where it was, what it held, its permissions and owner. */
    record Saved(String path, ByteString contents, int mode, int uid, int gid, long atimeNanos, long mtimeNanos,
            long size, List<FileExtent> extents) {
        Saved(String path, ByteString contents, int mode, int uid, int gid, long atimeNanos, long mtimeNanos) {
            this(path, contents, mode, uid, gid, atimeNanos, mtimeNanos, contents.size(), List.of());
        }
    }

    private record Key(long dev, long inode) {}

    /**
     * Whether the record being filled is the first of the whole tree to meet deleted file
     * ({@code dev}, {@code inode}): that one saves its contents, the others refer to it.
     */
    public static boolean claim(TreeDump tree, long dev, long inode) {
        Set<Key> claimed = tree.cached(DeletedFiles.class, HashSet::new);
        return claimed.add(new Key(dev, inode));
    }

    /**
     * A descriptor in the puppet (O_RDWR, close-on-exec) of the tree's one deleted file
     * ({@code dev}, {@code inode}), made by the first caller of the restart; the caller closes it.
     */
    public static long open(RestoreContext ctx, long dev, long inode, String what) throws IOException {
        Injector inj = ctx.injector();
        long[] made = {-1};
        int amberFd = ctx.tree().hold(new Key(dev, inode), () -> {
            made[0] = make(ctx, saved(ctx, dev, inode, what), what);
            return ctx.tree().keep(Pidfd.grab(ctx.pid(), (int) made[0]));
        });
        return made[0] >= 0 ? made[0] : TreeRestore.pullFromAmber(inj, amberFd);
    }

    /** The one record of the image holding the file's contents: this process's first, then the tree's. */
    private static Saved saved(RestoreContext ctx, long dev, long inode, String what) throws IOException {
        List<Process> all = new ArrayList<>();
        all.add(ctx.process());
        all.addAll(ctx.tree().processes());
        for (Process p : all) {
            for (Vma v : p.getMemory().getVmasList()) {
                if (v.getDeleted() && !v.getContents().isEmpty() && v.getFileIdentity().getInode() == inode
                        && v.getFileIdentity().getDev() == dev) {
                    return new Saved(v.getPath(), v.getContents(), v.getFileMode() != 0 ? v.getFileMode() : 0600, v.getFileUid(), v.getFileGid(),
                            v.getFileIdentity().getMtimeNanos(), v.getFileIdentity().getMtimeNanos());
                }
            }
            for (Descriptor d : p.getDescriptorsList()) {
                RegularFile f = d.getRegular();
                if (f.getDeleted() && f.hasIdentity() && f.getIdentity().getInode() == inode
                        && f.getIdentity().getDev() == dev && (!f.getContents().isEmpty() || f.getSparse()
                                || f.getIdentity().getSize() == 0)) {
                    return new Saved(f.getPath(), f.getContents(), f.getMode() & 07777, f.getUid(), f.getGid(),
                            f.getAtimeNanos(), f.getIdentity().getMtimeNanos(),
                            f.getContents().isEmpty() ? f.getIdentity().getSize() : f.getContents().size(), f.getExtentsList());
                }
            }
        }
        throw new IOException("image: " + what + ": no record of the tree holds the contents of deleted inode " + inode
                + ": the image is incomplete");
    }

    /** Makes the file unlinked in its old directory with its contents, permissions and owner; returns its fd. */
    private static long make(RestoreContext ctx, Saved s, String what) throws IOException {
        Injector inj = ctx.injector();
        Path dir = Path.of(s.path()).getParent();
        int perms = s.mode() & 07777;
        long fd = inj.call(Arch.SYS_OPENAT, AT_FDCWD, inj.putString(0, s.path()),
                O_RDWR | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, perms);
        if (fd >= 0) {
            inj.check("unlink " + s.path() + " for " + what, Arch.SYS_UNLINK, inj.putString(0, s.path()));
        } else if (fd == -EEXIST) {
            // The name is taken by a new file: an unnamed one in the same directory instead.
            fd = inj.check("open(O_TMPFILE) in " + dir + " for " + what, Arch.SYS_OPENAT, AT_FDCWD,
                    inj.putString(0, dir.toString()), O_RDWR | O_TMPFILE | O_NOCTTY | O_CLOEXEC, perms);
        } else {
            throw new ErrnoException("create " + what, "in pid " + ctx.pid(), (int) -fd);
        }
        inj.check("fchown " + what, Arch.SYS_FCHOWN, fd, s.uid(), s.gid());
        inj.check("fchmod " + what, Arch.SYS_FCHMOD, fd, perms);   // past the puppet's umask, after chown clears set-id bits
        inj.check("ftruncate " + what, SYS_FTRUNCATE, fd, s.size());
        Path made = Path.of("/proc/" + ctx.tree().hostPid(ctx.pid()) + "/fd/" + fd);
        try (FileChannel ch = FileChannel.open(made, StandardOpenOption.WRITE)) {
            writeSparse(ch, s.contents().asReadOnlyByteBuffer(), 0);
            for (FileExtent e : s.extents()) {
                writeSparse(ch, e.getData().asReadOnlyByteBuffer(), e.getOffset());
            }
        }
        // Last: every write sets the modification time to now.
        Files.getFileAttributeView(made, BasicFileAttributeView.class).setTimes(
                FileTime.from(s.mtimeNanos(), TimeUnit.NANOSECONDS), FileTime.from(s.atimeNanos(), TimeUnit.NANOSECONDS),
                null);
        return fd;
    }

    /**
     * Writes every block of {@code contents} that is not all zeros; the others stay holes of the
     * file, already sized, so that a sparse file comes back sparse (SEEK_HOLE finds its holes). A
     * block of zeros that was data comes back a hole: it reads the same.
     */
    static void writeSparse(FileChannel ch, ByteBuffer contents, long offset) throws IOException {
        int size = contents.remaining();
        for (int at = 0; at < size; at += BLOCK) {
            ByteBuffer block = contents.slice(at, Math.min(BLOCK, size - at));
            if (block.mismatch(ZEROS.slice(0, block.remaining())) == -1) {
                continue;
            }
            while (block.hasRemaining()) {
                ch.write(block, offset + at + block.position());
            }
        }
    }
}
