package dev.amber.kind.ipc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One of {@code /proc/sysvipc/shm}, {@code sem}, {@code msg} (ipc/util.c, sysvipc_*_proc_show):
 * a header of column names, then one line per object of the reader's IPC namespace, columns
 * separated by blanks. {@code key} is signed decimal, {@code perms} octal (for shm it carries
 * SHM_DEST 01000 while an IPC_RMID waits for the last detach, and SHM_LOCKED 02000):
 *
 * <pre>
 *        key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid ...
 *  305441741          1   640                 10000 25226 25226      1     0     0     0     0 ...
 *          0          2  1600                  4096 25226 25226      1     0     0     0     0 ...
 * </pre>
 */
record SysvTable(List<Row> rows) {
    static final int SHM_DEST = 01000;

    /** One object: its columns by name. */
    record Row(Map<String, String> columns) {
        String text(String column) {
            String v = columns.get(column);
            if (v == null) {
                throw new IllegalArgumentException("sysvipc: no column " + column + " in " + columns);
            }
            return v;
        }

        long decimal(String column) {
            try {
                return Long.parseLong(text(column));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("sysvipc: " + column + " '" + text(column) + "' is not decimal");
            }
        }

        int octal(String column) {
            try {
                return Integer.parseInt(text(column), 8);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("sysvipc: " + column + " '" + text(column) + "' is not octal");
            }
        }
    }

    static SysvTable read(String which) throws IOException {
        return parse(Files.readString(Path.of("/proc/sysvipc/" + which)));
    }

    static SysvTable parse(String text) {
        String[] lines = text.split("\n");
        if (lines.length == 0 || lines[0].isBlank()) {
            throw new IllegalArgumentException("sysvipc: no header line");
        }
        String[] names = lines[0].trim().split("\\s+");
        List<Row> rows = new ArrayList<>();
        for (int i = 1; i < lines.length; i++) {
            if (lines[i].isBlank()) {
                continue;
            }
            String[] values = lines[i].trim().split("\\s+");
            if (values.length != names.length) {
                throw new IllegalArgumentException("sysvipc: line " + (i + 1) + " has " + values.length
                        + " columns, the header " + names.length + ": '" + lines[i].trim() + "'");
            }
            Map<String, String> columns = new LinkedHashMap<>();
            for (int c = 0; c < names.length; c++) {
                columns.put(names[c], values[c]);
            }
            rows.add(new Row(columns));
        }
        return new SysvTable(List.copyOf(rows));
    }
}
