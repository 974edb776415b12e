package dev.amber.kind.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Device numbers in both layouts, and the classes of this machine's devices by major:minor. */
class DeviceClassTest {
    /**
     * st_rdev as glibc lays it out: minor bits 0-7, major bits 8-19, minor bits 20-39 (from its
     * bit 8 on), major bits 44-63 (from its bit 12 on); mknod(2) takes the same low 32 bits.
     */
    @Test
    void device_numbers() {
        assertEquals(10, DeviceClass.major(0x0a03L));
        assertEquals(3, DeviceClass.minor(0x0a03L));
        long big = 0x1234L << 44 | 0xabcL << 8 | 0x5678L << 20 | 0x9aL;   // major 0x1234abc, minor 0x56789a
        assertEquals(0x1234abc, DeviceClass.major(big));
        assertEquals(0x56789a, DeviceClass.minor(big));
        assertEquals(0x0a03L, DeviceClass.encode(10, 3));
        assertEquals(0x100a03L, DeviceClass.encode(10, 0x103));   // minor bit 8 goes to bit 20
        assertEquals(makedev(136, 0x1ffff), DeviceClass.encode(136, 0x1ffff), "below 4096 majors both layouts agree");
    }

    /** glibc's makedev for majors below 4096. */
    private static long makedev(int major, int minor) {
        return (minor & 0xffL) | ((major & 0xfffL) << 8) | ((minor & ~0xffL) << 12);
    }

    @Test
    void classes_of_this_machine() {
        assumeTrue(Files.exists(Path.of("/sys/dev/char/1:3")), "needs sysfs");
        assertEquals(new DeviceClass("mem/null", DeviceClass.Handling.STATELESS, ""), DeviceClass.of(false, 1, 3));
        assertEquals(DeviceClass.Handling.KMSG, DeviceClass.of(false, 1, 11).handling());
        assertEquals(DeviceClass.Handling.PTY, DeviceClass.of(false, 5, 0).handling());
        assertEquals(DeviceClass.Handling.PTY, DeviceClass.of(false, 5, 2).handling());
        assertEquals(DeviceClass.Handling.PTY, DeviceClass.of(false, 136, 7).handling());
        assertEquals(new DeviceClass("tty/console", DeviceClass.Handling.TERMINAL, ""), DeviceClass.of(false, 5, 1));
        assertEquals(new DeviceClass("misc/cpu_dma_latency", DeviceClass.Handling.PM_QOS, ""),
                DeviceClass.of(false, 10, 259));
        assertEquals(DeviceClass.Handling.STATELESS, DeviceClass.of(false, 10, 237).handling());   // loop-control
        assertEquals(DeviceClass.Handling.STATELESS, DeviceClass.of(true, 7, 0).handling());
        DeviceClass tun = DeviceClass.of(false, 10, 200);
        assertEquals("misc/net/tun", tun.driver());
        assertEquals(DeviceClass.Handling.REFUSED, tun.handling());
    }

    @Test
    void unknown_devices_are_refused_naming_their_number() {
        DeviceClass c = DeviceClass.of(false, 4000, 17);   // no such major: no sysfs entry
        assertEquals(new DeviceClass("?/4000:17", DeviceClass.Handling.REFUSED,
                "a device (4000:17) is not known to keep no per-open state: not supported"), c);
    }
}
