package dev.amber.sys;

import java.lang.foreign.Arena;

/** Directories of Amber's own, opened as descriptors to hand to a puppet (which fchdirs to them). */
public final class Dirfd {
    private static final int O_PATH = 010000000, O_DIRECTORY = 0200000, O_CLOEXEC = 02000000;

    private Dirfd() {}

    /** open(2) of directory {@code path} with O_PATH | O_DIRECTORY | O_CLOEXEC; the caller closes it. */
    public static int open(String path) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            return (int) Syscall.check("open", path, Arch.SYS_OPEN, arena.allocateFrom(path).address(),
                    O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        }
    }
}
