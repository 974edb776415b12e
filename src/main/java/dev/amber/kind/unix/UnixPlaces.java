package dev.amber.kind.unix;

import dev.amber.kind.TreeRestore;
import dev.amber.sys.Arch;
import dev.amber.sys.Dirfd;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Where a unix socket's path name is bound and reached again at restart. A name whose file was
 * still the socket's at checkpoint resolves where it did (relative ones in their saved
 * directory). A detached one (the file unlinked, renamed away, replaced: {@code name_detached})
 * must give the same getsockname without touching what is at that path now. The kernel keeps
 * the address a socket was bound with, whatever happens to the file after, so the socket is
 * bound with the same bytes inside a private directory of Amber's that stands in for the
 * process's root (chroot, for an absolute name) or current directory (a relative one): the path
 * resolves there, the socket file is made there, and connect and sendto reach it there until the
 * restart ends, when the directory goes (the socket stays bound, as one whose file was unlinked).
 *
 * <p>The private tree: {@code amber-unix-XXXX/<inode>/} followed by the name's directories (a
 * relative name with {@code ..} starts deep enough that it stays inside); 0711 and a 0777
 * socket file, so that a connect made with the process's own ids passes, and a random name.
 */
final class UnixPlaces {
    private static final int AT_FDCWD = -100, O_PATH = 010000000, O_DIRECTORY = 0200000, O_CLOEXEC = 02000000,
            PATH_AT = 2048;

    /** A name and where it resolves: its saved directory, or, detached, the private root of {@code inode}. */
    record Name(long inode, byte[] name, String dir, boolean detached) {
        static Name of(dev.amber.image.proto.UnixSocket s) {
            return new Name(s.getInode(), s.getName().toByteArray(), s.getNameDir(), s.getNameDetached());
        }

        static Name peerOf(dev.amber.image.proto.UnixSocket s) {
            return new Name(s.getPeerInode(), s.getPeerName().toByteArray(), s.getPeerNameDir(),
                    s.getPeerNameDetached());
        }

        static Name of(dev.amber.image.proto.UnixListener l) {
            return new Name(l.getInode(), l.getName().toByteArray(), l.getNameDir(), l.getNameDetached());
        }

        static Name of(dev.amber.image.proto.UnixQueuedClient c) {
            return new Name(c.getInode(), c.getName().toByteArray(), c.getNameDir(), c.getNameDetached());
        }

        static Name peerOf(dev.amber.image.proto.UnixAccepted a) {
            return new Name(a.getPeerInode(), a.getPeerName().toByteArray(), a.getPeerNameDir(),
                    a.getPeerNameDetached());
        }
    }

    private final TreeRestore tree;
    private Path base;
    private final Map<Long, Integer> dirs = new HashMap<>();

    private UnixPlaces(TreeRestore tree) {
        this.tree = tree;
    }

    static UnixPlaces of(TreeRestore tree) throws IOException {
        return tree.hold(UnixPlaces.class, () -> {
            UnixPlaces p = new UnixPlaces(tree);
            tree.atEnd(p::remove);
            tree.onFailure(p::remove);
            return p;
        });
    }

    /** Runs {@code op} in the puppet behind {@code inj} where {@code n} resolves as it did at checkpoint. */
    void at(Injector inj, Name n, String what, UnixRestore.InDir op) throws IOException {
        if (!n.detached() || !UnixName.path(n.name())) {
            UnixRestore.inDir(inj, n.dir(), what, op);
            return;
        }
        boolean absolute = UnixName.pathString(n.name()).startsWith("/");
        long dir = TreeRestore.pullFromAmber(inj, privateDir(n));
        long here = open(inj, ".", what), root = absolute ? open(inj, "/", what) : -1;
        try {
            inj.check("fchdir(private directory) " + what, Arch.SYS_FCHDIR, dir);
            if (absolute) {
                inj.check("chroot(private directory) " + what, Arch.SYS_CHROOT, inj.putString(PATH_AT, "."));
            }
            try {
                op.run();
            } finally {
                if (absolute) {
                    inj.check("fchdir(root) " + what, Arch.SYS_FCHDIR, root);
                    inj.check("chroot back " + what, Arch.SYS_CHROOT, inj.putString(PATH_AT, "."));
                }
                inj.check("fchdir back " + what, Arch.SYS_FCHDIR, here);
            }
        } finally {
            inj.call(Arch.SYS_CLOSE, dir);
            inj.call(Arch.SYS_CLOSE, here);
            if (root >= 0) {
                inj.call(Arch.SYS_CLOSE, root);
            }
        }
    }

    /** After a bind at a detached name: lets anyone connect to the socket file in the private tree. */
    void bound(Name n) throws IOException {
        if (n.detached() && UnixName.path(n.name())) {
            Files.setAttribute(socketFile(n), "unix:mode", 0777);
        }
    }

    private static long open(Injector inj, String path, String what) throws IOException {
        return inj.check("open(\"" + path + "\") " + what, Arch.SYS_OPENAT, AT_FDCWD, inj.putString(PATH_AT, path),
                O_PATH | O_DIRECTORY | O_CLOEXEC);
    }

    /** Amber's descriptor of the directory standing in for the root or cwd of {@code n}, made once. */
    private int privateDir(Name n) throws IOException {
        Integer fd = dirs.get(n.inode());
        if (fd != null) {
            return fd;
        }
        Path start = start(n);
        Path parent = socketFile(n).getParent();
        for (Path p = base.resolve(Long.toString(n.inode())); ; ) {
            mkdir(p);
            if (p.equals(parent)) {
                break;
            }
            Path rel = p.relativize(parent);
            p = p.resolve(rel.getName(0));
        }
        mkdir(start);
        fd = tree.keep(Dirfd.open(start.toString()));
        dirs.put(n.inode(), fd);
        return fd;
    }

    /** The directory the name is resolved from: the private root, or a cwd deep enough for its {@code ..}. */
    private Path start(Name n) throws IOException {
        if (base == null) {
            base = Files.createTempDirectory("amber-unix-");
            Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        }
        Path root = base.resolve(Long.toString(n.inode()));
        String path = UnixName.pathString(n.name());
        if (path.startsWith("/")) {
            return root;
        }
        long ups = Stream.of(path.split("/")).filter(".."::equals).count();
        for (long i = 0; i < ups; i++) {
            root = root.resolve("d");
        }
        return root;
    }

    /** Where the socket file of {@code n} is in the private tree. */
    private Path socketFile(Name n) throws IOException {
        String path = UnixName.pathString(n.name());
        Path start = start(n);
        if (path.startsWith("/")) {
            return start.resolve(Path.of(path).normalize().toString().substring(1)).normalize();
        }
        return start.resolve(path).normalize();
    }

    private static void mkdir(Path p) throws IOException {
        if (!Files.isDirectory(p)) {
            Files.createDirectory(p);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx--x--x"));
        }
    }

    /** The private tree goes when the restart ends: the sockets stay bound, their files gone. */
    private void remove() throws IOException {
        if (base == null) {
            return;
        }
        try (Stream<Path> all = Files.walk(base)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
        base = null;
    }
}
