package dev.amber.kind.epoll;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Epoll;
import dev.amber.image.proto.EpollWatch;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.FdInfo;
import dev.amber.proc.Fds;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * epoll_create(2): every watch with its events and data. fdinfo has one line per watch (hex
 * values; the kernel adds EPOLLERR | EPOLLHUP to every watch's events):
 *
 * <pre>
 * tfd:        3 events: 80000019 data: 1122334455667788  pos:0 ino:c sdev:10
 * </pre>
 *
 * A watch is keyed by the watched open file and the descriptor number it was added with; it
 * outlives that descriptor while the file stays open elsewhere, and the number may since name
 * another file. The inode does not tell (every anon_inode file has the same one), so
 * kcmp(KCMP_EPOLL_TFD) compares the files. Such a watch is saved with another descriptor of the
 * process that holds the watched file ({@code file_fd}, found with the same kcmp), and restored by
 * putting that file at the watch's number for the moment of EPOLL_CTL_ADD. A watched file that
 * the process holds through no descriptor is refused.
 *
 * <p>Restored in the second pass, after the descriptors the watches name. A watched epoll (or a
 * dup of one) has the same pass: when it has a higher number than its watcher, it is made at its
 * number first, and the table's later restore of it finds it in place.
 */
public final class EpollKind implements FdKind {
    // x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
    
    private static final int EPOLL_CTL_ADD = 1, KCMP_EPOLL_TFD = 7;
    private static final int O_NONBLOCK = 04000, O_CLOEXEC = 02000000, EPOLL_CLOEXEC = O_CLOEXEC, F_SETFL = 4;
    private static final int F_DUPFD_CLOEXEC = 1030, F_GETFD = 1, FD_CLOEXEC = 1;
    private static final String TARGET = "anon_inode:[eventpoll]";
    /** The kernel refuses epolls nested deeper than this (EP_MAX_NESTS + 1). */
    private static final int MAX_DEPTH = 5;
    private static final Pattern WATCH = Pattern.compile(
            "(\\d+)\\s+events:\\s*([0-9a-f]+)\\s+data:\\s*([0-9a-f]+)\\s+pos:\\s*(\\d+)\\s+ino:\\s*([0-9a-f]+)\\s+sdev:.*");

    /** One {@code tfd:} line. */
    record Watch(int fd, int events, long data, long ino) {
        static Watch parse(int pid, int epfd, String value) throws IOException {
            Matcher m = WATCH.matcher(value);
            if (!m.matches()) {
                throw new IOException("pid " + pid + " fd " + epfd + ": epoll: expected fdinfo 'tfd: N events: X"
                        + " data: Y pos: P ino: I sdev: D', found 'tfd: " + value + "'");
            }
            return new Watch(Integer.parseInt(m.group(1)), (int) Long.parseLong(m.group(2), 16),
                    Long.parseUnsignedLong(m.group(3), 16), Long.parseLong(m.group(5), 16));
        }
    }

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.EPOLL;
    }

    @Override
    public boolean handles(String target) {
        return target.equals(TARGET);
    }

    @Override
    public int pass() {
        return 2;   // after an inotify that watches through another descriptor (pass 1)
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        Epoll.Builder e = Epoll.newBuilder().setFlags(info.flags());
        Map<Integer, Integer> seen = new HashMap<>();  // watches per number so far: kcmp's toff
        long self = -1;
        boolean ok = true;
        for (String line : info.values("tfd")) {
            Watch w = Watch.parse(ctx.pid(), fd, line);
            int toff = seen.merge(w.fd(), 1, Integer::sum) - 1;
            if (self < 0) {
                self = ctx.injector().check("getpid", Arch.SYS_GETPID);  // kcmp runs in the process: its own pid
            }
            EpollWatch.Builder saved = EpollWatch.newBuilder().setFd(w.fd()).setEvents(w.events()).setData(w.data());
            String found = watchedFile(ctx, fd, w, toff, self);
            if (found != null) {
                int holder = holder(ctx, fd, w, toff, self);
                if (holder < 0) {
                    ctx.refuse("fd " + fd, "epoll", "watches fd " + w.fd() + " (inode " + w.ino() + "), which "
                            + found + ", and no other descriptor of the process holds the watched file (a mapping or"
                            + " another process does): the watch cannot be added again; remove it (EPOLL_CTL_DEL)"
                            + " before closing the descriptor");
                    ok = false;
                    continue;
                }
                saved.setFileFd(holder);
            }
            e.addWatches(saved);
        }
        if (ok) {
            d.setEpoll(e);
        }
    }

    /** A descriptor of the process that holds the file of watch {@code w}, or -1. */
    private static int holder(DumpContext ctx, int epfd, Watch w, int toff, long self) throws IOException {
        Injector inj = ctx.injector();
        long slot = inj.put(0, slot(epfd, w.fd(), toff));
        for (int candidate : Fds.list(ctx.pid())) {
            if (candidate == epfd || candidate == w.fd()) {
                continue;
            }
            long same = inj.call(Arch.SYS_KCMP, self, self, KCMP_EPOLL_TFD, candidate, slot);
            if (same == 0) {
                return candidate;
            }
        }
        return -1;
    }

    /** struct kcmp_epoll_slot { __u32 efd, tfd, toff; } */
    private static byte[] slot(int epfd, int tfd, int toff) {
        return ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(epfd).putInt(tfd).putInt(toff).array();
    }

    /** Null when fd {@code w.fd()} is still the watched file, else what it is now. */
    private static String watchedFile(DumpContext ctx, int epfd, Watch w, int toff, long self) throws IOException {
        Path link = Path.of("/proc/" + ctx.pid() + "/fd/" + w.fd());
        String target;
        long ino;
        try {
            target = Fds.readLink(ctx.pid(), w.fd());
            ino = (Long) Files.getAttribute(link, "unix:ino");
        } catch (NoSuchFileException ex) {
            return "the process has closed";
        }
        if (ino != w.ino()) {
            return "is now " + target + " (inode " + ino + ")";
        }
        Injector inj = ctx.injector();
        long same = inj.check("kcmp(KCMP_EPOLL_TFD) epoll fd " + epfd + " watch of fd " + w.fd(), Arch.SYS_KCMP,
                self, self, KCMP_EPOLL_TFD, w.fd(), inj.put(0, slot(epfd, w.fd(), toff)));
        return same == 0 ? null : "is now another " + target;
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        if (isEpollAt(ctx, d.getFd())) {
            return d.getFd();  // made early, as the watched epoll of a lower descriptor
        }
        return create(ctx, d, 0);
    }

    /** Makes epoll {@code d} with its watches, making first any watched descriptor not open yet. */
    private static long create(RestoreContext ctx, Descriptor d, int depth) throws IOException {
        Injector inj = ctx.injector();
        Epoll e = d.getEpoll();
        String what = "fd " + d.getFd() + " epoll";
        long fd = inj.check("epoll_create1 " + what, Arch.SYS_EPOLL_CREATE1,
                (e.getFlags() & O_CLOEXEC) != 0 ? EPOLL_CLOEXEC : 0);
        if ((e.getFlags() & O_NONBLOCK) != 0) {
            inj.check("fcntl(F_SETFL, O_NONBLOCK) " + what, Arch.SYS_FCNTL, fd, F_SETFL, O_NONBLOCK);
        }
        for (EpollWatch w : e.getWatchesList()) {
            if (w.hasFileFd()) {
                addThrough(ctx, fd, w, depth, what);
                continue;
            }
            ensureOpen(ctx, w.getFd(), depth + 1, what);
            add(inj, fd, w, what);
        }
        return fd;
    }

    private static void add(Injector inj, long epfd, EpollWatch w, String what) throws IOException {
        // struct epoll_event { __u32 events; __u64 data; } __attribute__((packed)) on x86-64: 12 bytes
        byte[] event = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(w.getEvents())
                .putLong(w.getData()).array();
        inj.check("epoll_ctl(EPOLL_CTL_ADD, fd " + w.getFd() + ", events 0x" + Integer.toHexString(w.getEvents())
                + ") " + what, Arch.SYS_EPOLL_CTL, epfd, EPOLL_CTL_ADD, w.getFd(), inj.put(0, event));
    }

    /**
     * A watch whose number no longer names its file: the file (held at {@code file_fd}) is put at
     * the number for the EPOLL_CTL_ADD, and whatever the number held is put back after.
     */
    private static void addThrough(RestoreContext ctx, long epfd, EpollWatch w, int depth, String what)
            throws IOException {
        Injector inj = ctx.injector();
        ensureOpen(ctx, w.getFileFd(), depth + 1, what);
        boolean occupied = Files.exists(Path.of("/proc/" + ctx.pid() + "/fd/" + w.getFd()), LinkOption.NOFOLLOW_LINKS);
        long parked = -1, flags = 0;
        if (occupied) {
            flags = inj.check("fcntl(F_GETFD) fd " + w.getFd(), Arch.SYS_FCNTL, w.getFd(), F_GETFD);
            parked = inj.check("fcntl(F_DUPFD_CLOEXEC) fd " + w.getFd(), Arch.SYS_FCNTL, w.getFd(), F_DUPFD_CLOEXEC, 0);
        }
        inj.check("dup3 fd " + w.getFileFd() + " to fd " + w.getFd() + " " + what, Arch.SYS_DUP3, w.getFileFd(),
                w.getFd(), 0);
        add(inj, epfd, w, what);
        if (occupied) {
            inj.check("dup3 fd " + parked + " back to fd " + w.getFd(), Arch.SYS_DUP3, parked, w.getFd(),
                    (flags & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0);
            inj.check("close fd " + parked, Arch.SYS_CLOSE, parked);
        } else {
            inj.check("close fd " + w.getFd(), Arch.SYS_CLOSE, w.getFd());
        }
    }

    /**
     * Makes the saved descriptor {@code fd} at its number if the puppet has no such descriptor yet:
     * an epoll or a dup of one, which the table restores in this same pass but maybe later.
     */
    private static void ensureOpen(RestoreContext ctx, int fd, int depth, String watcher) throws IOException {
        if (Files.exists(Path.of("/proc/" + ctx.pid() + "/fd/" + fd), LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Descriptor saved = find(ctx.process().getDescriptorsList(), fd).orElseThrow(() -> new IOException(
                "pid " + ctx.pid() + " " + watcher + ": watches fd " + fd + ", which the image does not hold"));
        if (depth > MAX_DEPTH) {
            throw new IOException("pid " + ctx.pid() + " " + watcher + ": epolls nested deeper than " + MAX_DEPTH
                    + " at fd " + fd + ": the image is damaged");
        }
        Injector inj = ctx.injector();
        if (saved.getShares()) {
            ensureOpen(ctx, saved.getSameAs(), depth, watcher);
            inj.check("dup3 fd " + saved.getSameAs() + " to fd " + fd, Arch.SYS_DUP3, saved.getSameAs(), fd, 0);
        } else if (saved.getKindCase() == Descriptor.KindCase.EPOLL) {
            long made = create(ctx, saved, depth);
            if (made != fd) {  // epoll_create1 takes the lowest free number, which may be fd itself
                inj.check("dup3 fd " + made + " to fd " + fd, Arch.SYS_DUP3, made, fd, 0);
                inj.check("close fd " + made, Arch.SYS_CLOSE, made);
            }
        } else {
            throw new IOException("pid " + ctx.pid() + " " + watcher + ": watches fd " + fd + " (" + saved.getKindCase()
                    + "), which is not open yet: it should have been restored in an earlier pass");
        }
    }

    private static boolean isEpollAt(RestoreContext ctx, int fd) throws IOException {
        try {
            return Fds.readLink(ctx.pid(), fd).equals(TARGET);
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    private static Optional<Descriptor> find(List<Descriptor> all, int fd) {
        return all.stream().filter(x -> x.getFd() == fd).findFirst();
    }
}
