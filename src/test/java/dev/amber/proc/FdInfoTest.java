package dev.amber.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FdInfoTest {

    @Test
    void regularFile() {
        var info = FdInfo.parse("pos:\t4096\nflags:\t02100002\nmnt_id:\t24\nino:\t1057\n");
        assertEquals(new FdInfo(4096, 02100002, 24, 1057, Map.of()), info);
    }

    @Test
    void oldKernelWithoutIno() {
        var info = FdInfo.parse("pos:\t0\nflags:\t0100000\nmnt_id:\t9\n");
        assertEquals(-1, info.ino());
        assertEquals(0100000, info.flags());
    }

    @Test
    void eventfd() {
        var info = FdInfo.parse("pos:\t0\nflags:\t02004002\nmnt_id:\t15\nino:\t1057\neventfd-count:                5\neventfd-id: 3\n");
        assertEquals(List.of("5"), info.values("eventfd-count"));
        assertEquals(List.of("3"), info.values("eventfd-id"));
        assertEquals(List.of("eventfd-count", "eventfd-id"), List.copyOf(info.others().keySet()));
    }

    @Test
    void epollKeepsEveryTargetInOrder() {
        var info = FdInfo.parse("""
                pos:\t0
                flags:\t02
                mnt_id:\t15
                ino:\t1057
                tfd:        5 events:       19 data:                5  pos:0 ino:3 sdev:f
                tfd:        7 events:        1 data:       100000007  pos:0 ino:4 sdev:f
                """);
        assertEquals(List.of("5 events:       19 data:                5  pos:0 ino:3 sdev:f",
                "7 events:        1 data:       100000007  pos:0 ino:4 sdev:f"), info.values("tfd"));
    }

    @Test
    void inotifyFanotifySignalfdTimerfdLocks() {
        var info = FdInfo.parse("""
                pos:\t0
                flags:\t02004000
                mnt_id:\t15
                ino:\t1057
                inotify wd:1 ino:2a sdev:800001 mask:fff ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:2a000000
                fanotify flags:10 event-flags:0
                sigmask:\t0000000000000200
                clockid: 1
                settime flags: 01
                it_value: (0, 49406828)
                lock:\t1: FLOCK  ADVISORY  WRITE 3053 00:13:1234 0 EOF
                """);
        assertEquals(List.of("wd:1 ino:2a sdev:800001 mask:fff ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:2a000000"),
                info.values("inotify"));
        assertEquals(List.of("flags:10 event-flags:0"), info.values("fanotify"));
        assertEquals(List.of("0000000000000200"), info.values("sigmask"));
        assertEquals(List.of("01"), info.values("settime flags"));
        assertEquals(List.of("(0, 49406828)"), info.values("it_value"));
        assertEquals(List.of("1: FLOCK  ADVISORY  WRITE 3053 00:13:1234 0 EOF"), info.values("lock"));
        assertEquals(List.of(), info.values("tfd"));
    }

    @Test
    void octalFlagsRejectDecimalDigits() {
        var e = assertThrows(ProcFormatException.class, () -> FdInfo.parse("pos:\t0\nflags:\t0900\nmnt_id:\t1\n"));
        assertEquals("fdinfo line 2: expected flags as octal, found \"flags:\t0900\"", e.getMessage());
    }

    @Test
    void lineWithoutLabel() {
        var e = assertThrows(ProcFormatException.class, () -> FdInfo.parse("pos:\t0\ngarbage\n"));
        assertEquals("fdinfo line 2: expected \"Label: value\", found \"garbage\"", e.getMessage());
    }
}
