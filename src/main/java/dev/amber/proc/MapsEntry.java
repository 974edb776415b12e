package dev.amber.proc;

/**
 * One line of {@code /proc/PID/maps}: a virtual memory area {@code [start, end)}.
 *
 * @param path the name the kernel shows: {@code ""} for an unnamed anonymous area, a file path
 *     (which may contain spaces and end with {@code " (deleted)"}), or a special name such as
 *     {@code [heap]}, {@code [stack]}, {@code [vvar]}, {@code [vvar_vclock]}, {@code [vdso]},
 *     {@code [anon:name]}. Shared anonymous memory shows as {@code /dev/zero (deleted)}, System V
 *     shared memory as {@code /SYSV0000002a (deleted)}, memfd as {@code /memfd:name (deleted)}.
 *     The kernel writes a newline in a path as {@code \012} without escaping backslashes, so this
 *     text is kept exactly as shown (not decoded).
 * @param shared {@code s} in the permissions ({@code MAP_SHARED}); {@code p} is private
 *     (copy-on-write)
 * @param inode unsigned; 0 for anonymous areas
 */
public record MapsEntry(
        long start,
        long end,
        boolean read,
        boolean write,
        boolean exec,
        boolean shared,
        long offset,
        int devMajor,
        int devMinor,
        long inode,
        String path) {

    private static final String DELETED = " (deleted)";

    public MapsEntry {
        if (Long.compareUnsigned(start, end) > 0) {
            throw new IllegalArgumentException("start 0x" + Long.toHexString(start) + " > end 0x" + Long.toHexString(end));
        }
        if (path == null) throw new NullPointerException("path");
    }

    /** Size in bytes. */
    public long length() {
        return end - start;
    }

    /** The file behind this area was unlinked: the path ends with {@code " (deleted)"}. */
    public boolean deleted() {
        return path.endsWith(DELETED);
    }

    /** The path with a trailing {@code " (deleted)"} removed. */
    public String pathWithoutDeleted() {
        return deleted() ? path.substring(0, path.length() - DELETED.length()) : path;
    }

    /**
     * No name at all, or only a name given with {@code prctl(PR_SET_VMA_ANON_NAME)}
     * ({@code [anon:name]}, or {@code [anon_shmem:name]} for shared anonymous memory). Not true of
     * {@code [heap]} and {@code [stack]} (see {@link #isSpecial()}) nor of shared anonymous memory
     * shown as {@code /dev/zero (deleted)}.
     */
    public boolean isAnonymous() {
        return path.isEmpty() || path.startsWith("[anon:") || path.startsWith("[anon_shmem:");
    }

    /** A bracketed kernel name: {@code [heap]}, {@code [stack]}, {@code [vdso]}, {@code [anon:x]}... */
    public boolean isSpecial() {
        return path.startsWith("[") && path.endsWith("]");
    }

    /** Convenience: exactly this bracketed name, e.g. {@code is("[vdso]")}. */
    public boolean is(String specialName) {
        return path.equals(specialName);
    }

    /** The line as the kernel prints it, minus the padding: {@code 7f42c0987000-7f42c0989000 r-xp 00000000 00:00 0 [vdso]}. */
    @Override
    public String toString() {
        String perms = "" + (read ? 'r' : '-') + (write ? 'w' : '-') + (exec ? 'x' : '-') + (shared ? 's' : 'p');
        return "%08x-%08x %s %08x %02x:%02x %s".formatted(start, end, perms, offset, devMajor, devMinor,
                Long.toUnsignedString(inode)) + (path.isEmpty() ? "" : " " + path);
    }
}
