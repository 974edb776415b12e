package dev.amber.kind.unix;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A unix socket's bound name as the kernel keeps it (sun_path bytes, as long as bind said):
 * empty when unbound, a leading NUL for an abstract name, else a filesystem path (with the
 * terminating NUL the kernel added). {@code struct sockaddr_un} is {@code family:u16 = 1}
 * followed by those bytes.
 */
final class UnixName {
    private UnixName() {}

    static boolean abstractName(byte[] name) {
        return name.length > 0 && name[0] == 0;
    }

    static boolean path(byte[] name) {
        return name.length > 0 && name[0] != 0;
    }

    /** A path name not starting with {@code /}: the kernel resolved it in the binder's cwd. */
    static boolean relative(byte[] name) {
        return path(name) && name[0] != '/';
    }

    /** {@code /run/app.sock}, {@code @name} (abstract), or {@code (unnamed)}. */
    static String display(byte[] name) {
        if (name.length == 0) {
            return "(unnamed)";
        }
        if (abstractName(name)) {
            return "@" + new String(name, 1, name.length - 1, StandardCharsets.UTF_8).replace("\0", "\\0");
        }
        return pathString(name);
    }

    /** The path of a filesystem name, without its NUL. */
    static String pathString(byte[] name) {
        int end = 0;
        while (end < name.length && name[end] != 0) {
            end++;
        }
        return new String(name, 0, end, StandardCharsets.UTF_8);
    }

    /** The sockaddr_un to pass to bind, connect or sendto. */
    static byte[] sockaddr(byte[] name) {
        byte[] sa = new byte[2 + name.length];
        sa[0] = 1;   // AF_UNIX, little-endian u16
        System.arraycopy(name, 0, sa, 2, name.length);
        return sa;
    }

    /** Whether {@code declared} (a --external-unix argument) names this socket: its path, or {@code @name}. */
    static boolean matches(String declared, byte[] name) {
        return name.length > 0 && (declared.equals(display(name))
                || (path(name) && declared.equals(pathString(name))));
    }

    static byte[] of(String display) {
        if (display.startsWith("@")) {
            byte[] b = display.substring(1).getBytes(StandardCharsets.UTF_8);
            byte[] out = new byte[b.length + 1];
            System.arraycopy(b, 0, out, 1, b.length);
            return out;
        }
        byte[] b = display.getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(b, b.length + 1);
    }
}
