package dev.amber.kind.device;

import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.Device;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdKind;
import dev.amber.kind.RestoreContext;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Character and block device nodes, recognised by the file their descriptor opens (st_mode), not
 * by its path. Each is classified by major:minor ({@link DeviceClass}): stateless devices are
 * reopened by path with their flags and position, terminal devices get their line settings back
 * ({@link TtyDevice}), /dev/cpu_dma_latency its PM-QoS request ({@link PmQos}); the rest is
 * refused, naming what its open file holds. An unlinked node is made again ({@link DeletedNode}).
 * Pseudo-terminals are kind.tty's; the one left here is a slave whose master has gone ({@link HungUpPty}).
 */
public final class DeviceKind implements FdKind {
    static final int O_ACCMODE = 3, O_WRONLY = 1, O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400, O_TRUNC = 01000,
            O_CLOEXEC = 02000000, O_PATH = 010000000, O_TMPFILE_ONLY = 020000000;
    static final int S_IFMT = 0170000, S_IFCHR = 0020000, S_IFBLK = 0060000;
    private static final int AT_FDCWD = -100, SEEK_SET = 0, STAT_SIZE = 144, ST_RDEV = 40;
    static final String DELETED = " (deleted)";

    @Override
    public Descriptor.KindCase kindCase() {
        return Descriptor.KindCase.DEVICE;
    }

    /** Only through {@link #handles(int, int, String)}: a link alone does not say it is a device. */
    @Override
    public boolean handles(String target) {
        return false;
    }

    @Override
    public boolean handles(int pid, int fd, String target) {
        if (!target.startsWith("/") || target.startsWith("/memfd:")) {
            return false;
        }
        Map<String, Object> a = stat(pid, fd);
        if (a == null) {
            return false;
        }
        int type = (Integer) a.get("mode") & S_IFMT;
        if (type != S_IFCHR && type != S_IFBLK) {
            return false;
        }
        long rdev = (Long) a.get("rdev");
        DeviceClass c = DeviceClass.of(type == S_IFBLK, DeviceClass.major(rdev), DeviceClass.minor(rdev));
        // A pseudo-terminal reached by its usual name is kind.tty's; under another name, or gone, it is ours to refuse.
        return c.handling() != DeviceClass.Handling.PTY || !isPtyName(target);
    }

    private static boolean isPtyName(String target) {
        return target.equals("/dev/tty") || target.equals("/dev/ptmx") || target.matches("/dev/pts/\\d+");
    }

    private static Map<String, Object> stat(int pid, int fd) {
        try {
            return Files.readAttributes(Path.of("/proc/" + pid + "/fd/" + fd), "unix:mode,rdev,uid,gid,ino,dev");
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    @Override
    public void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException {
        Map<String, Object> a = stat(ctx.pid(), fd);
        if (a == null) {
            throw new IOException("pid " + ctx.pid() + " fd " + fd + ": " + target + " closed while stopped");
        }
        int mode = (Integer) a.get("mode");
        long rdev = (Long) a.get("rdev");
        boolean block = (mode & S_IFMT) == S_IFBLK, deleted = target.endsWith(DELETED);
        String path = deleted ? target.substring(0, target.length() - DELETED.length()) : target;
        int major = DeviceClass.major(rdev), minor = DeviceClass.minor(rdev);
        DeviceClass c = DeviceClass.of(block, major, minor);
        String what = (block ? "block device " : "character device ") + target + " (" + major + ":" + minor + ")";
        String refusal = refusal(c, info.flags(), target);
        if (refusal != null) {
            ctx.refuse("fd " + fd, what, refusal);
            return;
        }
        Device.Builder dev = Device.newBuilder().setPath(path).setFlags(info.flags()).setPosition(info.pos())
                .setMode(mode).setMajor(major).setMinor(minor).setDriver(c.driver()).setDeleted(deleted)
                .setUid((Integer) a.get("uid")).setGid((Integer) a.get("gid"))
                .setNodeDev((Long) a.get("dev")).setNodeInode((Long) a.get("ino"));
        if (c.handling() == DeviceClass.Handling.TERMINAL && (info.flags() & O_PATH) == 0) {
            dev.setTty(TtyDevice.read(ctx.pid(), fd));
        }
        if (c.handling() == DeviceClass.Handling.PM_QOS && !PmQos.dump(ctx, fd, what, dev)) {
            return;
        }
        d.setDevice(dev);
    }

    /** Why a device of class {@code c} opened with {@code flags} as {@code target} cannot be saved, or null. */
    private static String refusal(DeviceClass c, int flags, String target) {
        return switch (c.handling()) {
            case REFUSED -> c.reason();
            case KMSG -> (flags & O_ACCMODE) == O_WRONLY ? null : "a reader's place in the kernel log cannot be"
                    + " read: only /dev/kmsg opened write-only is supported";
            // A slave whose master was closed is gone from devpts (HungUpPty); any other one here has another name.
            case PTY -> c.driver().startsWith("pts/") && target.startsWith("/dev/pts/") && target.endsWith(DELETED)
                    ? null : "a pseudo-terminal device reached by another name than /dev/tty, /dev/ptmx or"
                    + " /dev/pts/N: not supported";
            default -> null;
        };
    }

    @Override
    public long restore(RestoreContext ctx, Descriptor d) throws IOException {
        Injector inj = ctx.injector();
        Device dev = d.getDevice();
        String what = "fd " + d.getFd() + " " + dev.getPath();
        int flags = openFlags(dev);
        if (HungUpPty.is(dev)) {
            return HungUpPty.open(ctx, d);
        }
        long fd = dev.getDeleted() ? DeletedNode.open(ctx, d, flags)
                : inj.check("open " + what, Arch.SYS_OPENAT, AT_FDCWD, inj.putString(0, dev.getPath()), flags, 0);
        checkDevice(inj, fd, dev, what);
        if (dev.hasPmQos()) {
            PmQos.restore(inj, fd, dev, what);
        } else if (dev.getPosition() != 0 && (dev.getFlags() & O_PATH) == 0) {
            inj.check("lseek " + what, Arch.SYS_LSEEK, fd, dev.getPosition(), SEEK_SET);
        }
        if (dev.hasTty()) {
            TtyDevice.restore(inj, fd, dev.getTty(), what);
        }
        return fd;
    }

    /**
     * The saved open flags, less those that only act at open and O_CLOEXEC (the table's), with
     * O_NOCTTY: a puppet that is a session leader must not take a terminal it opens as its own.
     * O_EXCL stays for a block device, where without O_CREAT it asks for an exclusive open.
     */
    static int openFlags(Device dev) {
        boolean block = (dev.getMode() & S_IFMT) == S_IFBLK;
        return dev.getFlags() & ~(O_CREAT | (block ? 0 : O_EXCL) | O_TRUNC | O_CLOEXEC | O_TMPFILE_ONLY) | O_NOCTTY;
    }

    /** The path must open the same device: after a move to another host a name can stand for another. */
    private static void checkDevice(Injector inj, long fd, Device dev, String what) throws IOException {
        inj.check("fstat " + what, Arch.SYS_FSTAT, fd, inj.scratch());
        ByteBuffer st = ByteBuffer.wrap(inj.get(0, STAT_SIZE)).order(ByteOrder.LITTLE_ENDIAN);
        long rdev = st.getLong(ST_RDEV);
        int mode = st.getInt(24);
        if ((mode & S_IFMT) != (dev.getMode() & S_IFMT) || DeviceClass.major(rdev) != dev.getMajor()
                || DeviceClass.minor(rdev) != dev.getMinor()) {
            throw new IOException(what + " is now device " + DeviceClass.major(rdev) + ":" + DeviceClass.minor(rdev)
                    + String.format(" (mode 0%o), was %d:%d (%s): make the node again as it was, then restart",
                    mode, dev.getMajor(), dev.getMinor(), dev.getDriver()));
        }
    }
}
