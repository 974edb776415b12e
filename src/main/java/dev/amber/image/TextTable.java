package dev.amber.image;

import java.util.ArrayList;
import java.util.List;

/** Aligned columns for `amber show`: a header row, then rows; numeric columns right-aligned. */
final class TextTable {
    private final List<String[]> rows = new ArrayList<>();
    private final boolean[] right;

    TextTable(String... header) {
        rows.add(header);
        right = new boolean[header.length];
    }

    TextTable right(int... columns) {
        for (int c : columns) {
            right[c] = true;
        }
        return this;
    }

    TextTable row(Object... cells) {
        String[] row = new String[right.length];
        for (int i = 0; i < row.length; i++) {
            row[i] = i < cells.length ? String.valueOf(cells[i]) : "";
        }
        rows.add(row);
        return this;
    }

    void render(StringBuilder out, String indent) {
        int[] width = new int[right.length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder(indent);
            for (int i = 0; i < row.length; i++) {
                String pad = " ".repeat(width[i] - row[i].length());
                boolean last = i == row.length - 1;
                line.append(right[i] ? pad + row[i] : last ? row[i] : row[i] + pad);
                if (!last) {
                    line.append("  ");
                }
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
    }
}
