package dev.amber.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A small C project for make to build: UNITS source files of FUNCTIONS small functions each
 * (enough for gcc -O2 to take a moment per file), a header, a main that prints what every unit
 * makes of a number, and a Makefile that links it twice (prog, prog2). Written the same way
 * every time, so two builds of it give the same objects and binaries byte for byte (no -g:
 * debugging information would name the directory it was built in).
 */
final class CProject {
    static final int UNITS = 12;
    static final int FUNCTIONS = 40;

    private CProject() {}

    static void write(Path dir) throws IOException {
        for (int u = 1; u <= UNITS; u++)
            Files.writeString(dir.resolve("unit" + u + ".c"), unit(u));
        StringBuilder header = new StringBuilder("#ifndef UNITS_H\n#define UNITS_H\n");
        StringBuilder main = new StringBuilder("#include <stdio.h>\n#include \"units.h\"\n\nint main(void)\n{\n    unsigned long x = 1;\n");
        for (int u = 1; u <= UNITS; u++) {
            header.append("unsigned long unit").append(u).append("(unsigned long x);\n");
            main.append("    x = unit%d(x);\n    printf(\"unit%d %%lu\\n\", x);\n".formatted(u, u));
        }
        Files.writeString(dir.resolve("units.h"), header.append("#endif\n"));
        Files.writeString(dir.resolve("main.c"), main.append("    return 0;\n}\n"));
        Files.writeString(dir.resolve("Makefile"), """
                OBJS = main.o $(patsubst %.c,%.o,$(sort $(wildcard unit*.c)))
                all: prog prog2
                prog: $(OBJS)
                \tgcc -o $@ $^
                prog2: $(OBJS)
                \tgcc -o $@ $^ -lm
                %.o: %.c units.h
                \tgcc -O2 -c -o $@ $<
                """);
    }

    private static String unit(int u) {
        StringBuilder s = new StringBuilder("#include \"units.h\"\n\n");
        for (int f = 1; f <= FUNCTIONS; f++)
            s.append("static unsigned long f%d(unsigned long x)\n{\n".formatted(f))
                    .append("    for (int r = 0; r < %d; r++)\n".formatted(f % 7 + 2))
                    .append("        x = (x * 6364136223846793005UL + %d) ^ (x >> %d);\n".formatted(u * 1000 + f, f % 13 + 1))
                    .append("    return x;\n}\n\n");
        s.append("unsigned long unit").append(u).append("(unsigned long x)\n{\n");
        for (int f = 1; f <= FUNCTIONS; f++)
            s.append("    x = f").append(f).append("(x);\n");
        return s.append("    return x;\n}\n").toString();
    }
}
