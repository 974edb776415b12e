package dev.amber.e2e;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * What /proc shows of a process, for comparing before checkpoint and after restart: every line of
 * maps, the status fields that a restart must reproduce, and every fd with its link target and
 * fdinfo. {@link #diff} is empty when the two agree, else says what differs, line by line.
 */
record ProcSnapshot(List<String> maps, Map<String, String> status, Map<Integer, String> fds) {

    /** Status fields that must match (State, PPid, counters and memory figures are left out). */
    static final List<String> STATUS_FIELDS = List.of("Name", "Umask", "Tgid", "Pid", "NSpid", "Uid", "Gid",
            "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "SigPnd", "ShdPnd",
            "SigBlk", "SigIgn", "SigCgt", "Cpus_allowed_list");

    /** fdinfo lines that must match. */
    private static final List<String> FDINFO_FIELDS = List.of("pos", "flags", "mnt_id", "ino");

    /*
     * Shared anonymous memory (and SysV shm) is a shmem file whose inode number the kernel hands
     * out at creation (get_next_ino): no restart can choose it, so that one field is masked; so is
     * MAP_HUGETLB memory's, an unlinked file of the kernel's hugetlbfs mount.
     */
    private static final Pattern SHMEM_LINE = Pattern.compile(
            "^(\\S+ \\S+ \\S+ \\S+ )(\\d+)(\\s+(/dev/zero \\(deleted\\)|/anon_hugepage \\(deleted\\)|/SYSV\\S*.*))$");

    static ProcSnapshot take(long pid) throws IOException {
        Path proc = Path.of("/proc", Long.toString(pid));
        List<String> maps = Files.readAllLines(proc.resolve("maps")).stream()
                .map(l -> SHMEM_LINE.matcher(l).replaceFirst("$1<shmem-ino> $4"))
                .toList();
        Map<String, String> status = new LinkedHashMap<>();
        for (String line : Files.readAllLines(proc.resolve("status"))) {
            int colon = line.indexOf(':');
            if (colon > 0 && STATUS_FIELDS.contains(line.substring(0, colon)))
                status.put(line.substring(0, colon), line.substring(colon + 1).trim());
        }
        Map<Integer, String> fds = new TreeMap<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(proc.resolve("fd"))) {
            for (Path fd : dir) {
                int n = Integer.parseInt(fd.getFileName().toString());
                String target;
                List<String> info;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                    info = Files.readAllLines(proc.resolve("fdinfo").resolve(Integer.toString(n)));
                } catch (IOException e) {
                    continue; // closed while listing
                }
                StringBuilder sb = new StringBuilder(target);
                for (String line : info) {
                    int colon = line.indexOf(':');
                    if (colon > 0 && FDINFO_FIELDS.contains(line.substring(0, colon)))
                        sb.append(' ').append(line.substring(0, colon)).append('=').append(line.substring(colon + 1).trim());
                }
                fds.put(n, sb.toString());
            }
        }
        return new ProcSnapshot(maps, status, fds);
    }

    /** The same without fd offsets, for targets that keep writing (their offsets move on by themselves). */
    ProcSnapshot withoutPositions() {
        Map<Integer, String> stripped = new TreeMap<>();
        fds.forEach((fd, s) -> stripped.put(fd, s.replaceAll(" pos=\\d+", "")));
        return new ProcSnapshot(maps, status, stripped);
    }

    /** "" when equal; otherwise one line per difference, "-" for before and "+" for after. */
    String diff(ProcSnapshot after) {
        StringBuilder sb = new StringBuilder();
        if (!maps.equals(after.maps)) {
            sb.append("maps:\n");
            for (String l : maps)
                if (!after.maps.contains(l))
                    sb.append("  - ").append(l).append('\n');
            for (String l : after.maps)
                if (!maps.contains(l))
                    sb.append("  + ").append(l).append('\n');
            if (sb.length() == "maps:\n".length())
                sb.append("  (same lines, different order)\n");
        }
        for (String f : STATUS_FIELDS) {
            String a = status.get(f), b = after.status.get(f);
            if (a == null ? b != null : !a.equals(b))
                sb.append("status ").append(f).append(": ").append(a).append(" -> ").append(b).append('\n');
        }
        List<Integer> all = new ArrayList<>(fds.keySet());
        after.fds.keySet().stream().filter(k -> !fds.containsKey(k)).forEach(all::add);
        for (int fd : all) {
            String a = fds.get(fd), b = after.fds.get(fd);
            if (a == null ? b != null : !a.equals(b))
                sb.append("fd ").append(fd).append(": ").append(a).append(" -> ").append(b).append('\n');
        }
        return sb.toString();
    }
}
