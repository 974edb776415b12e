package dev.amber.kind.memfd;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.Memfd;
import dev.amber.sys.Arch;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Reads what a memfd holds through a path the tool may open: {@code /proc/PID/fd/N}, or
 * {@code /proc/PID/map_files/START-END} for one that is only mapped. Opening either reopens the
 * same memfd, so the process's own offset is untouched.
 *
 * <p>Contents go into the process record (the image's metadata, limited to 64 MiB as a whole),
 * so the memfds of one process may hold {@link #MAX_BYTES} together; more is refused.
 */
final class MemfdFile {
    /** Together, for every memfd of a process: well under the 64 MiB metadata limit. */
    static final long MAX_BYTES = 32L << 20;
    private static final int F_GET_SEALS = 1034;
    private static final String PREFIX = "/memfd:", DELETED = " (deleted)";

    private MemfdFile() {}

    /** Whether a descriptor link or maps path names a memfd: {@code /memfd:NAME (deleted)}. */
    static boolean isMemfd(String target) {
        return target.startsWith(PREFIX) && target.endsWith(DELETED);
    }

    /** The name given to memfd_create, from {@code /memfd:NAME (deleted)}. */
    static String name(String target) {
        return target.substring(PREFIX.length(), target.length() - DELETED.length());
    }

    /** The size of the memfd at {@code file}, without reading it. */
    static long size(Path file) throws IOException {
        return Files.size(file);
    }

    /**
     * Name, size, seals, permissions, owner, inode and contents of the memfd at {@code file}. The
     * seals are read by fcntl(F_GET_SEALS) on the tool's own descriptor of the file: seals belong
     * to the inode, and a process that only maps its memfd has no descriptor to ask (its
     * {@code /proc/self/map_files} it may open only with CAP_CHECKPOINT_RESTORE).
     */
    static Memfd.Builder read(Path file, String name) throws IOException {
        Map<String, Object> a = Files.readAttributes(file, "unix:mode,uid,gid,ino,dev");
        long inode = (Long) a.get("ino");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer contents = ByteBuffer.allocate(Math.toIntExact(size));
            while (contents.hasRemaining() && ch.read(contents, contents.position()) > 0) {
                // the process is stopped: nothing changes the size meanwhile
            }
            if (contents.hasRemaining()) {
                throw new IOException(file + ": read " + contents.position() + " of " + size + " bytes");
            }
            return Memfd.newBuilder()
                    .setName(name)
                    .setSize(size)
                    .setSeals(seals(file, (Long) a.get("dev"), inode))
                    .setMode((Integer) a.get("mode") & 07777)
                    .setUid((Integer) a.get("uid"))
                    .setGid((Integer) a.get("gid"))
                    .setInode(inode)
                    .setContents(ByteString.copyFrom(contents.flip()));
        }
    }

    /** F_GET_SEALS of the tool's descriptor on ({@code dev}, {@code inode}), which {@link #read} holds open. */
    private static int seals(Path file, long dev, long inode) throws IOException {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : fds) {
                Map<String, Object> a;
                try {
                    a = Files.readAttributes(fd, "unix:ino,dev");
                } catch (IOException e) {
                    continue;   // closed meanwhile, or the directory stream's own
                }
                if ((Long) a.get("ino") == inode && (Long) a.get("dev") == dev) {
                    long seals = Syscall.raw(Arch.SYS_FCNTL, Integer.parseInt(fd.getFileName().toString()),
                            F_GET_SEALS, 0);
                    if (seals >= 0) {
                        return (int) seals;
                    }
                }
            }
        }
        throw new IOException(file + ": fcntl(F_GET_SEALS) found no descriptor of the tool's on inode " + inode);
    }

    /**
     * Writes {@code contents} into the hugetlb memfd at {@code file} (already of its size) through
     * a shared mapping of it in the tool: only the huge pages that hold something, so that holes
     * take no page of the pool.
     */
    static void writeMapped(Path file, ByteString contents, long pageSize, String what) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
                Arena arena = Arena.ofConfined()) {
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_WRITE, 0, contents.size(), arena);
            MemorySegment saved = MemorySegment.ofBuffer(contents.asReadOnlyByteBuffer());
            for (long at = 0; at < contents.size(); at += pageSize) {
                long n = Math.min(pageSize, contents.size() - at);
                MemorySegment page = saved.asSlice(at, n);
                if (!allZero(page)) {
                    mapped.asSlice(at, n).copyFrom(page);
                }
            }
        } catch (IOException e) {
            throw new IOException(what + ": writing its contents through a mapping of " + file + ": " + e.getMessage()
                    + " (are there free huge pages? see /sys/kernel/mm/hugepages)", e);
        }
    }

    private static final MemorySegment ZERO = MemorySegment.ofArray(new byte[4096]);

    private static boolean allZero(MemorySegment s) {
        for (long at = 0; at < s.byteSize(); at += ZERO.byteSize()) {
            MemorySegment part = s.asSlice(at, Math.min(ZERO.byteSize(), s.byteSize() - at));
            if (part.mismatch(ZERO.asSlice(0, part.byteSize())) != -1) {
                return false;
            }
        }
        return true;
    }

    /** Bytes of memfd contents the records of {@code memfds} already hold. */
    static long held(Iterable<Memfd> memfds) {
        long total = 0;
        for (Memfd m : memfds) {
            total += m.getContents().size();
        }
        return total;
    }
}
