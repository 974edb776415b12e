package dev.amber.kind.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.amber.image.proto.FileLock;
import org.junit.jupiter.api.Test;

/** fdinfo {@code lock:} values as kernel 6.18 prints them (FdInfo strips the label). */
class FileLocksTest {
    @Test
    void parses_flock_posix_and_ofd() {
        assertEquals(FileLock.newBuilder().setKind("FLOCK").setWrite(true).setStart(0).setEnd(-1).build(),
                FileLocks.parse("1: FLOCK  ADVISORY  WRITE 19731 fe:00:2147730 0 EOF"));
        assertEquals(FileLock.newBuilder().setKind("POSIX").setWrite(true).setStart(10).setEnd(29).build(),
                FileLocks.parse("1: POSIX  ADVISORY  WRITE 19731 fe:00:2147746 10 29"));
        assertEquals(FileLock.newBuilder().setKind("POSIX").setWrite(false).setStart(100).setEnd(-1).build(),
                FileLocks.parse("2: POSIX  ADVISORY  READ 19731 fe:00:2147746 100 EOF"));
        assertEquals(FileLock.newBuilder().setKind("OFDLCK").setWrite(true).setStart(0).setEnd(4).build(),
                FileLocks.parse("1: OFDLCK ADVISORY  WRITE -1 fe:00:2147780 0 4"));
    }

    @Test
    void parses_leases_active_and_breaking() {
        assertEquals(FileLock.newBuilder().setKind("LEASE").setWrite(false).setStart(0).setEnd(-1).build(),
                FileLocks.parse("1: LEASE  ACTIVE    READ 19731 fe:00:2147780 0 EOF"));
        assertEquals(FileLock.newBuilder().setKind("LEASE").setWrite(true).setStart(0).setEnd(-1).build(),
                FileLocks.parse("1: LEASE  ACTIVE    WRITE 19731 fe:00:2147780 0 EOF"));
        // Breaking: the type it is being broken to; the type it had comes from the access mode.
        assertEquals(FileLock.newBuilder().setKind("LEASE").setLeaseBreakingTo("UNLCK").setEnd(-1).build(),
                FileLocks.parse("1: LEASE  BREAKING  UNLCK 1495 fe:00:2171876 0 EOF"));
        assertEquals(FileLock.newBuilder().setKind("LEASE").setLeaseBreakingTo("READ").setEnd(-1).build(),
                FileLocks.parse("1: LEASE  BREAKING  READ 1495 fe:00:2171877 0 EOF"));
        assertEquals("write lease being broken to READ", FileLocks.describe(FileLocks.parse(
                "1: LEASE  BREAKING  READ 1 fe:00:2 0 EOF").toBuilder().setWrite(true).build()));
    }

    @Test
    void other_kinds_are_not_parsed() {
        assertNull(FileLocks.parse("1: DELEG  ACTIVE    READ 19731 fe:00:2147780 0 EOF"));
        assertNull(FileLocks.parse("1: LEASE  BREAKER   UNLCK 19731 fe:00:2147780 0 EOF"));
    }

    @Test
    void describes_ranges() {
        assertEquals("POSIX write lock on bytes 10-29", FileLocks.describe(FileLocks.parse(
                "1: POSIX  ADVISORY  WRITE 1 fe:00:2 10 29")));
        assertEquals("OFD read lock on bytes 100-EOF", FileLocks.describe(FileLocks.parse(
                "1: OFDLCK ADVISORY  READ -1 fe:00:2 100 EOF")));
        assertEquals("flock write lock", FileLocks.describe(FileLocks.parse(
                "1: FLOCK  ADVISORY  WRITE 1 fe:00:2 0 EOF")));
    }
}
