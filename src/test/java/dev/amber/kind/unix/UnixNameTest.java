package dev.amber.kind.unix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@link UnixName}: names as sock_diag gives them (path names with the kernel's NUL, abstract ones after a NUL). */
class UnixNameTest {
    private static byte[] path(String p) {
        return (p + "\0").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void path_name() {
        byte[] n = path("/run/app.sock");
        assertTrue(UnixName.path(n));
        assertFalse(UnixName.abstractName(n));
        assertFalse(UnixName.relative(n));
        assertEquals("/run/app.sock", UnixName.display(n));
        assertEquals("/run/app.sock", UnixName.pathString(n));
        assertTrue(UnixName.relative(path("tree.sock")));
    }

    @Test
    void abstract_name() {
        byte[] n = "\0amber".getBytes(StandardCharsets.UTF_8);
        assertTrue(UnixName.abstractName(n));
        assertFalse(UnixName.path(n));
        assertEquals("@amber", UnixName.display(n));
        assertArrayEquals(n, UnixName.of("@amber"));
    }

    @Test
    void unnamed() {
        assertEquals("(unnamed)", UnixName.display(new byte[0]));
        assertFalse(UnixName.matches("", new byte[0]));
    }

    @Test
    void sockaddr_is_family_then_the_name_bytes() {
        assertArrayEquals(new byte[] {1, 0, 0, 'x'}, UnixName.sockaddr(new byte[] {0, 'x'}));
    }

    @Test
    void declared_names_match_by_path_or_at_name() {
        assertTrue(UnixName.matches("/run/app.sock", path("/run/app.sock")));
        assertTrue(UnixName.matches("@amber", "\0amber".getBytes(StandardCharsets.UTF_8)));
        assertFalse(UnixName.matches("/run/other.sock", path("/run/app.sock")));
        assertArrayEquals(path("/run/app.sock"), UnixName.of("/run/app.sock"));
    }
}
