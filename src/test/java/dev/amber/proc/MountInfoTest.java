package dev.amber.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class MountInfoTest {
    private final List<MountInfoEntry> mounts = MountInfo.parse(Fixtures.text("mountinfo.txt"));

    @Test
    void plainMounts() {
        assertEquals(6, mounts.size());
        assertEquals(new MountInfoEntry(22, 27, 0, 21, "/", "/proc", "rw,relatime", List.of("shared:12"), "proc", "proc",
                "rw"), mounts.get(0));
        var root = mounts.get(2);
        assertEquals(254, root.major());
        assertEquals(0, root.minor());
        assertEquals("254:0", root.device());
        assertEquals("/dev/vda", root.source());
    }

    @Test
    void bindMountWithPropagation() {
        var m = mounts.get(3);
        assertEquals(36, m.mountId());
        assertEquals(35, m.parentId());
        assertEquals("/mnt1", m.root());
        assertEquals("/mnt2", m.mountPoint());
        assertEquals("rw,noatime", m.options());
        assertEquals(List.of("master:1", "propagate_from:2"), m.optionalFields());
        assertEquals("ext3", m.fsType());
        assertEquals("rw,errors=continue", m.superOptions());
    }

    @Test
    void octalEscapesDecoded() {
        var m = mounts.get(4);
        assertEquals("/my dir", m.root());
        assertEquals("/mnt/with space\ttab\\back", m.mountPoint());
        assertEquals("fuse.sshfs", m.fsType());
        assertEquals("user@host:/a b", m.source());
        assertEquals(List.of(), m.optionalFields());
    }

    @Test
    void emptySource() {
        var m = mounts.get(5);
        assertEquals(List.of("unbindable"), m.optionalFields());
        assertEquals("tmpfs", m.fsType());
        assertEquals("", m.source());
        assertEquals("rw,size=1024k", m.superOptions());
    }

    @Test
    void missingSeparator() {
        var e = assertThrows(ProcFormatException.class, () -> MountInfo.parse("22 27 0:21 / /proc rw proc proc rw\n"));
        assertEquals("mountinfo line 1: expected \"id parent major:minor root mountpoint options [optional...] - type source "
                + "superoptions\", found \"22 27 0:21 / /proc rw proc proc rw\"", e.getMessage());
    }
}
