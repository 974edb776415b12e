package dev.amber.kind.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The arithmetic of AIO ring sizes and hugetlb flags, against the kernel's own formulas. */
class HugePagesAndAioTest {
    /** fs/aio.c ioctx_alloc and aio_setup_ring, written out here as the kernel has them. */
    private static long ringBytes(long nr, int possibleCpus) {
        long events = Math.max(nr, 4L * possibleCpus) * 2;
        long pages = (32 + events * 32 + 4095) / 4096;
        return pages * 4096;
    }

    @Test
    void aio_request_makes_a_ring_of_the_same_size_and_is_at_most_the_original() {
        for (int cpus : new int[] {1, 2, 8, 64}) {
            for (long nr = 1; nr <= 5000; nr++) {
                long bytes = ringBytes(nr, cpus);
                long request = AioRings.request(bytes, cpus);
                assertEquals(bytes, ringBytes(request, cpus), "io_setup(" + nr + ") with " + cpus + " cpus");
                assertEquals(bytes, AioRings.bytes(request, cpus));
                assertTrue(request <= nr, "request " + request + " for io_setup(" + nr + ")");
            }
        }
    }

    @Test
    void aio_request_of_the_zdtm_rings() {
        assertEquals(1, AioRings.request(4096, 2));    // io_setup(1): one page, 127 events
        assertEquals(64, AioRings.request(8192, 2));   // io_setup(64): two pages, 255 events
    }

    @Test
    void huge_page_flags_carry_log2_of_the_size() {
        assertEquals(0x40000 | 21 << 26, HugePages.flags(HugePages.MAP_HUGETLB, 2L << 20));
        assertEquals(4 | 30 << 26, HugePages.flags(HugePages.MFD_HUGETLB, 1L << 30));
        assertEquals(0, HugePages.flags(HugePages.MAP_HUGETLB, 0));
        assertThrows(IllegalArgumentException.class, () -> HugePages.flags(HugePages.MAP_HUGETLB, 3L << 20));
        assertEquals(4L << 20, HugePages.align((2L << 20) + 1, 2L << 20));
        assertEquals(12345, HugePages.align(12345, 0));
    }
}
