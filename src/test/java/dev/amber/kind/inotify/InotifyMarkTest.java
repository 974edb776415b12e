package dev.amber.kind.inotify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.amber.proc.FdInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/** inotify fdinfo lines as Linux 6.18 prints them (fs/notify/fdinfo.c): every number hex. */
class InotifyMarkTest {
    private static final String FDINFO = """
            pos:	0
            flags:	04000
            mnt_id:	17
            ino:	12
            inotify wd:4 ino:2e3 sdev:fe00000 mask:20 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e302000000000000
            inotify wd:1a ino:20c084 sdev:fe00001 mask:80000002 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:84c02000c4f72b23
            """;

    @Test
    void parsesEveryWatch() {
        List<InotifyMark> marks = FdInfo.parse(FDINFO).values("inotify").stream().map(InotifyMark::parse).toList();
        assertEquals(2, marks.size());
        InotifyMark a = marks.get(0), b = marks.get(1);
        assertEquals(4, a.wd());
        assertEquals(0x2e3, a.ino());
        assertEquals(254, a.major());
        assertEquals(0, a.minor());
        assertEquals(0x20, a.mask());
        assertEquals(1, a.handleType());
        assertArrayEquals(new byte[] {(byte) 0xe3, 2, 0, 0, 0, 0, 0, 0}, a.handle());
        assertEquals(26, b.wd());
        assertEquals(1, b.minor());
        assertEquals(0x80000002, b.mask());   // IN_ONESHOT | IN_MODIFY
    }

    @Test
    void refusesMalformedLines() {
        var e = assertThrows(IllegalArgumentException.class, () -> InotifyMark.parse("wd:1 ino:2 sdev:3 mask:4"));
        assertEquals("inotify fdinfo: no fhandle-bytes in 'wd:1 ino:2 sdev:3 mask:4'", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> InotifyMark.parse(
                "wd:1 ino:2 sdev:3 mask:4 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e302"));
        assertEquals("inotify fdinfo: f_handle has 2 bytes, fhandle-bytes says 8: 'wd:1 ino:2 sdev:3 mask:4"
                + " ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e302'", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> InotifyMark.parse(
                "wd:zz ino:2 sdev:3 mask:4 ignored_mask:0 fhandle-bytes:1 fhandle-type:1 f_handle:e3"));
        assertEquals("inotify fdinfo: a number is not hex in 'wd:zz ino:2 sdev:3 mask:4 ignored_mask:0"
                + " fhandle-bytes:1 fhandle-type:1 f_handle:e3'", e.getMessage());
    }
}
