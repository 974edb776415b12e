package dev.amber.sys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;

/** memfd_create(2): an anonymous file in memory, here to hold a small executable. */
public final class Memfd {
    private static final int MFD_CLOEXEC = 1;

    private Memfd() {}

    /** A close-on-exec memfd named {@code name} holding {@code contents}; returns the descriptor. */
    public static int create(String name, byte[] contents) throws IOException {
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            fd = (int) Syscall.check("memfd_create", name, Arch.SYS_MEMFD_CREATE,
                    arena.allocateFrom(name).address(), MFD_CLOEXEC, 0);
        }
        Files.write(Path.of("/proc/self/fd/" + fd), contents);
        return fd;
    }

    public static void close(int fd) {
        Syscall.raw(Arch.SYS_CLOSE, fd, 0, 0);
    }
}
