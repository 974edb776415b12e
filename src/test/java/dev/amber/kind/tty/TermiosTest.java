package dev.amber.kind.tty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** The pure parts of kind.tty: termios2 rewrites for the queue write-back, and device and path names. */
class TermiosTest {
    /** A canonical, echoing termios2 as a shell's terminal has it: iflag ICRNL|IXON, oflag OPOST|ONLCR, lflag ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN. */
    private static byte[] sane() {
        ByteBuffer b = ByteBuffer.allocate(Termios.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0400 | 02000).putInt(4, 1 | 04).putInt(8, 0277).putInt(12, 1 | 2 | 010 | 020 | 040 | 01000 | 04000 | 0100000);
        byte[] t = b.array();
        t[17 + 0] = 3;      // VINTR ^C
        t[17 + 2] = 0177;   // VERASE
        t[17 + 3] = 025;    // VKILL ^U
        t[17 + 4] = 4;      // VEOF ^D
        t[17 + 6] = 1;      // VMIN
        t[17 + 11] = '#';   // VEOL
        return t;
    }

    private static int lflag(byte[] t) {
        return ByteBuffer.wrap(t).order(ByteOrder.LITTLE_ENDIAN).getInt(12);
    }

    private static int iflag(byte[] t) {
        return ByteBuffer.wrap(t).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
    }

    @Test
    void readAll_is_non_canonical_and_returns_at_once() {
        byte[] t = Termios.readAll(sane());
        assertFalse(Termios.canonical(t));
        assertEquals(0, t[17 + 6], "VMIN");
        assertEquals(0, t[17 + 5], "VTIME");
        assertEquals(lflag(sane()) & ~2, lflag(t), "only ICANON changes in lflag");
    }

    @Test
    void quietInput_keeps_canonical_mode_but_drops_echo_signals_editing_and_mapping() {
        byte[] t = Termios.quietInput(sane());
        assertTrue(Termios.canonical(t), "lines stay lines");
        assertEquals(2, lflag(t), "ICANON alone is left of ISIG|ICANON|ECHO*|IEXTEN");
        assertEquals(0, iflag(t), "no ICRNL, no IXON");
        for (int c : new int[] {2, 3, 4, 12, 13, 14, 15})
            assertEquals(0, t[17 + c], "c_cc[" + c + "] disabled");
        assertEquals('#', t[17 + 11], "VEOL still ends a line");
    }

    @Test
    void rawOutput_drops_output_processing_only() {
        byte[] t = Termios.rawOutput(sane());
        assertEquals(04, ByteBuffer.wrap(t).order(ByteOrder.LITTLE_ENDIAN).getInt(4), "OPOST off, ONLCR bit left");
        byte[] s = sane();
        System.arraycopy(t, 4, s, 4, 4);
        assertArrayEquals(s, t, "nothing else changes");
    }

    @Test
    void visible_counts_up_to_the_last_line_delimiter_in_canonical_mode() {
        byte[] data = "one\ntwo#par".getBytes(StandardCharsets.US_ASCII);
        assertEquals(8, Termios.visible(sane(), data), "'one\\n' and 'two#' (VEOL)");
        assertEquals(0, Termios.visible(sane(), "partial".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(data.length, Termios.visible(Termios.readAll(sane()), data), "all of it when not canonical");
    }

    @Test
    void pts_names_and_device_numbers() {
        assertEquals(3, PtyEnds.slaveIndex("/dev/pts/3"));
        assertEquals(4095, PtyEnds.slaveIndex("/dev/pts/4095"));
        assertEquals(-1, PtyEnds.slaveIndex("/dev/pts/ptmx"));
        assertEquals(-1, PtyEnds.slaveIndex("/dev/pts/"));
        assertEquals(-1, PtyEnds.slaveIndex("/dev/tty1"));
        assertTrue(PtyEnds.isMaster("/dev/ptmx") && PtyEnds.isMaster("/dev/pts/ptmx"));
        assertEquals(0, ControllingTerminalKind.ptsIndex(136 << 8), "/dev/pts/0 is 136:0");
        assertEquals(5, ControllingTerminalKind.ptsIndex(136 << 8 | 5));
        assertEquals(300, ControllingTerminalKind.ptsIndex((300 & 0xff) | 136 << 8 | (300 & ~0xff) << 12),
                "/dev/pts/300 is 136:300 (new_encode_dev: the minor's high bits above the major)");
        assertEquals(-1, ControllingTerminalKind.ptsIndex(4 << 8 | 1), "/dev/tty1 is not a pty");
    }
}
