package dev.amber.kind.unix;

import dev.amber.sys.Arch;
import dev.amber.sys.ErrnoException;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A socket of Amber's own in the network namespace of another process. A socket belongs to the
 * namespace of the task that made it, for good; setns(CLONE_NEWNET) changes the namespace of the
 * calling thread only (its nsproxy), so a short-lived thread of Amber's enters the namespace,
 * makes the socket and ends, and the socket serves every thread of Amber. Nothing is injected
 * into the process, whose descriptor table may have no free slot.
 */
public final class NetnsSocket {
    private static final int CLONE_NEWNET = 0x40000000, O_RDONLY = 0, O_CLOEXEC = 02000000, AT_FDCWD = -100;

    private NetnsSocket() {}

    public static int open(int pid, int domain, int type, int protocol) throws IOException {
        String what = "socket(" + domain + ", " + type + ", " + protocol + ") in the network namespace of pid " + pid;
        Path theirs = Path.of("/proc/" + pid + "/ns/net");
        if (Files.readSymbolicLink(theirs).equals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")))) {
            return (int) Syscall.check("socket", what, Arch.SYS_SOCKET, domain, type, protocol);
        }
        int ns;
        try (LocalBuffer b = new LocalBuffer(64)) {
            ns = (int) ErrnoException.check(Syscall.raw(Arch.SYS_OPENAT, AT_FDCWD, b.putString(0, theirs.toString()),
                    O_RDONLY | O_CLOEXEC, 0), "open", theirs.toString());
        }
        try {
            AtomicLong r = new AtomicLong();
            Thread t = Thread.ofPlatform().name("amber-netns").start(() -> {
                long entered = Syscall.raw(Arch.SYS_SETNS, ns, CLONE_NEWNET, 0);
                r.set(entered < 0 ? entered : Syscall.raw(Arch.SYS_SOCKET, domain, type, protocol));
            });
            t.join();
            return (int) ErrnoException.check(r.get(), "setns(CLONE_NEWNET) and socket", what);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(what + ": interrupted", e);
        } finally {
            Pidfd.close(ns);
        }
    }
}
