package dev.amber.kind.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * What a device node is and whether reopening it gives the process the same thing: looked up by
 * major:minor in sysfs ({@code /sys/dev/char/M:m}: its {@code subsystem} link names the class,
 * its {@code uevent} the device), never by the node's path, which a process may have made
 * anywhere with mknod.
 *
 * <p>Amber can only reopen a device and put back what it can read. So only devices whose open
 * file holds nothing of its own (the mem class: null, zero, full, random, urandom, mem, port;
 * misc devices whose every call is an ioctl on global state) are reopened as they are; terminal
 * devices with their line settings; /dev/cpu_dma_latency with its PM-QoS request. Everything
 * else is refused, naming the per-open state that would be lost.
 */
record DeviceClass(String driver, Handling handling, String reason) {
    enum Handling {
        /** Reopening by path is the same open file: position and flags are all it has. */
        STATELESS,
        /** A tty other than a pseudo-terminal: reopened, its termios and window size put back. */
        TERMINAL,
        /** /dev/cpu_dma_latency: each open file is one CPU latency request. */
        PM_QOS,
        /** /dev/kmsg: a writer has nothing of its own, a reader has its place in the log. */
        KMSG,
        /** /dev/tty, /dev/ptmx and /dev/pts/N: kind.tty's, with the pair's state. */
        PTY,
        REFUSED
    }

    /** Misc devices (major 10) whose open file keeps no state: every ioctl acts on global state. */
    private static final Set<String> STATELESS_MISC =
            Set.of("hw_random", "loop-control", "btrfs-control", "userfaultfd", "vsock");
    /** What a misc device's open file holds, for the refusal. */
    private static final Map<String, String> MISC_STATE = Map.of(
            "kvm", "its per-open state (virtual machines) cannot be saved",
            "fuse", "its per-open state (a FUSE connection and its mount's requests) cannot be saved",
            "tun", "its per-open state (the tun/tap network interface attached to it) cannot be saved:"
                    + " network devices are not supported",
            "vhost-net", "its per-open state (virtqueues of a guest) cannot be saved",
            "vhost-vsock", "its per-open state (virtqueues of a guest) cannot be saved",
            "uinput", "its per-open state (the virtual input device made through it) cannot be saved",
            "vga_arbiter", "its per-open state (the VGA resources it locked) cannot be saved",
            "snapshot", "its per-open state (a hibernation image) cannot be saved",
            "watchdog", "an open watchdog is armed: closing and reopening it would stop or fire it");
    /** What the open file of a device of each other class holds, for the refusal. */
    private static final Map<String, String> CLASS_STATE = Map.of(
            "input", "its per-open state (event queue, grab, clock) cannot be saved",
            "rtc", "its per-open state (the alarm and update interrupts it enabled) cannot be saved",
            "drm", "its per-open state (GPU buffers and contexts) cannot be saved",
            "sound", "its per-open state (a stream's buffers and position) cannot be saved",
            "watchdog", "an open watchdog is armed: closing and reopening it would stop or fire it",
            "hidraw", "its per-open state (queued reports) cannot be saved",
            "usbmon", "its per-open state (captured events) cannot be saved",
            "vfio", "its per-open state (a device assigned to the process) cannot be saved");
    private static final int UNIX98_PTY_SLAVE_MAJOR = 136, UNIX98_PTY_MAJOR_COUNT = 8, TTYAUX_MAJOR = 5;

    /** The class of character ({@code block} false) or block device {@code major}:{@code minor}. */
    static DeviceClass of(boolean block, int major, int minor) {
        if (block) {
            return new DeviceClass("block/" + name(true, major, minor), Handling.STATELESS, "");
        }
        if (isPtySlave(major)) {
            return new DeviceClass("pts/" + minor, Handling.PTY, "");   // devpts slaves are not in sysfs
        }
        String cls = subsystem(major, minor), name = name(false, major, minor);
        String driver = cls + "/" + name;
        return switch (cls) {
            case "mem" -> new DeviceClass(driver, name.equals("kmsg") ? Handling.KMSG : Handling.STATELESS, "");
            case "tty" -> new DeviceClass(driver, major == TTYAUX_MAJOR && (minor == 0 || minor == 2)
                    ? Handling.PTY : Handling.TERMINAL, "");
            case "misc" -> misc(driver, name);
            default -> new DeviceClass(driver, Handling.REFUSED, CLASS_STATE.getOrDefault(cls,
                    "a " + (cls.equals("?") ? "" : cls + " ") + "device (" + name + ") is not known to keep no"
                            + " per-open state: not supported"));
        };
    }

    /** {@code name} is DEVNAME, which can hold a directory ("net/tun"): looked up by its last part. */
    /** Majors 136-143: devpts slaves (UNIX98_PTY_SLAVE_MAJOR, UNIX98_PTY_MAJOR_COUNT). */
    static boolean isPtySlave(int major) {
        return major >= UNIX98_PTY_SLAVE_MAJOR && major < UNIX98_PTY_SLAVE_MAJOR + UNIX98_PTY_MAJOR_COUNT;
    }

    private static DeviceClass misc(String driver, String devname) {
        String name = devname.substring(devname.lastIndexOf('/') + 1);
        if (name.equals("cpu_dma_latency")) {
            return new DeviceClass(driver, Handling.PM_QOS, "");
        }
        if (STATELESS_MISC.contains(name)) {
            return new DeviceClass(driver, Handling.STATELESS, "");
        }
        return new DeviceClass(driver, Handling.REFUSED, MISC_STATE.getOrDefault(name.startsWith("watchdog")
                ? "watchdog" : name, "the misc device " + devname + " is not known to keep no per-open state: not supported"));
    }

    /** The sysfs class of a character device ("mem", "misc", "tty", "input"…), or "?" when it has no sysfs entry. */
    private static String subsystem(int major, int minor) {
        try {
            return Files.readSymbolicLink(sysfs(false, major, minor).resolve("subsystem")).getFileName().toString();
        } catch (IOException | UnsupportedOperationException e) {
            return "?";
        }
    }

    /** DEVNAME from the device's uevent ("null", "ttyS0", "input/event3"), or "M:m" when there is none. */
    private static String name(boolean block, int major, int minor) {
        try {
            for (String line : Files.readAllLines(sysfs(block, major, minor).resolve("uevent"))) {
                if (line.startsWith("DEVNAME=")) {
                    return line.substring("DEVNAME=".length());
                }
            }
        } catch (IOException e) {
            // No sysfs entry (a driver without one, or sysfs not mounted): the number is all there is.
        }
        return major + ":" + minor;
    }

    private static Path sysfs(boolean block, int major, int minor) {
        return Path.of("/sys/dev/" + (block ? "block/" : "char/") + major + ":" + minor);
    }

    /** glibc's dev_t layout, as stat(2) gives st_rdev: 12 bits of major and 20 of minor, split. */
    static int major(long rdev) {
        return (int) (((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL));
    }

    static int minor(long rdev) {
        return (int) ((rdev & 0xff) | ((rdev >>> 12) & ~0xffL));
    }

    /** The kernel's encoding of a device number for mknod(2) (new_encode_dev). */
    static long encode(int major, int minor) {
        return (minor & 0xffL) | ((long) major << 8) | ((minor & ~0xffL) << 12);
    }
}
