package dev.amber.kind.memory;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.FileIdentity;
import dev.amber.image.proto.Vma;
import dev.amber.image.proto.VmaKind;
import dev.amber.kind.DumpContext;
import dev.amber.kind.file.DeletedFiles;
import dev.amber.proc.MapsEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Files whose mappings keep their contents in the image, so that a restart can make them again:
 * deleted (unlinked) files, read through {@code /proc/PID/map_files} (the only way left to them),
 * and small shared files that are likely gone by the restart: a JVM's hsperfdata file, which any
 * JVM starting later deletes once the process that owned it is gone.
 */
final class MappedFileContents {
    /** Contents of deleted mappings, per process: more is refused (they go into the process record). */
    static final long MAX_BYTES = 32L << 20;
    private static final long SMALL = 1L << 20;
    private static final Pattern HSPERFDATA = Pattern.compile(".*/hsperfdata_[^/]+/[0-9]+");

    private MappedFileContents() {}

    /** Whether a shared mapping's file is one a restart may find deleted (and may then make again). */
    static boolean mayVanish(String path, FileIdentity id) {
        return id.getSize() <= SMALL && HSPERFDATA.matcher(path).matches();
    }

    /** Bytes of deleted files' contents already taken per process. */
    private static final class Saved {
        long bytes;
    }

    /**
     * A mapping of an unlinked file: every mapping marked deleted with its old name, permissions
     * and owner; the whole file's contents in the first record of the tree that meets its inode
     * ({@link DeletedFiles}), so that a restart makes one file for every process that maps it.
     * Refused beyond {@link #MAX_BYTES} per process.
     */
    static Optional<Vma.Builder> deleted(DumpContext ctx, MapsEntry m, Path mapped, Vma.Builder v, String where)
            throws IOException {
        String name = m.pathWithoutDeleted();
        Optional<FileIdentity> id = VmaClassifier.identity(mapped);
        if (id.isEmpty()) {
            ctx.refuse(where, "mapping of deleted file " + name, "its contents cannot be read through " + mapped);
            return Optional.empty();
        }
        Map<String, Object> a = Files.readAttributes(mapped, "unix:mode,uid,gid");
        v.setKind(m.shared() ? VmaKind.FILE_SHARED : VmaKind.FILE_PRIVATE).setFileIdentity(id.get())
                .setPath(name).setDeleted(true).setFileMode((Integer) a.get("mode") & 07777)
                .setFileUid((Integer) a.get("uid")).setFileGid((Integer) a.get("gid"));
        if (m.shared()) {
            sharedOnce(ctx, m, name);
        }
        Saved saved = ctx.tree().cached(java.util.List.of(Saved.class, ctx.pid()), Saved::new);
        if (DeletedFiles.claim(ctx.tree(), id.get().getDev(), id.get().getInode())) {
            saved.bytes += id.get().getSize();
            if (saved.bytes > MAX_BYTES) {
                ctx.refuse(where, "mapping of deleted file " + name, "its contents (" + (id.get().getSize() >> 10)
                        + " KiB) and the other deleted mappings' exceed " + (MAX_BYTES >> 20) + " MiB");
                return Optional.empty();
            }
            v.setContents(read(mapped, id.get().getSize()));
        }
        return Optional.of(v);
    }

    /** Deleted files the tree maps shared, by maps device and inode: checked against processes outside it at the end. */
    private static final class Shared {
        final Map<String, MemoryKind.FirstMapping> first = new java.util.HashMap<>();
        final Map<String, String> names = new java.util.HashMap<>();
    }

    private static void sharedOnce(DumpContext ctx, MapsEntry m, String name) {
        Shared shared = ctx.tree().cached(Shared.class, () -> {
            Shared made = new Shared();
            ctx.tree().atEnd(() -> OutsideMappings.checkDeleted(ctx.tree(), made.first, made.names));
            return made;
        });
        String key = String.format("%02x:%02x %d", m.devMajor(), m.devMinor(), m.inode());
        shared.first.putIfAbsent(key, new MemoryKind.FirstMapping(ctx.pid(), m.start()));
        shared.names.putIfAbsent(key, name);
    }

    static ByteString read(Path file, long size) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length != size) {
            throw new IOException(file + ": read " + bytes.length + " bytes of " + size);
        }
        return ByteString.copyFrom(bytes);
    }
}
