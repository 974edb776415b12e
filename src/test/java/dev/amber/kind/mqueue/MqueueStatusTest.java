package dev.amber.kind.mqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** A message queue file's status line as Linux 6.18 prints it (ipc/mqueue.c, mqueue_read_file). */
class MqueueStatusTest {
    @Test
    void parsesEveryField() {
        assertEquals(new MqueueStatus(24, 0, 0, 0),
                MqueueStatus.parse("QSIZE:24         NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n"));
        assertEquals(new MqueueStatus(0, 1, 10, 4242),
                MqueueStatus.parse("QSIZE:0          NOTIFY:1     SIGNO:10    NOTIFY_PID:4242  \n"));
    }

    @Test
    void refusesMalformedText() {
        var e = assertThrows(IllegalArgumentException.class, () -> MqueueStatus.parse("QSIZE:24 NOTIFY:0 SIGNO:0\n"));
        assertEquals("message queue status: no NOTIFY_PID in 'QSIZE:24 NOTIFY:0 SIGNO:0'", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MqueueStatus.parse("QSIZE:x NOTIFY:0 SIGNO:0 NOTIFY_PID:0"));
        assertEquals("message queue status: a number is not decimal in 'QSIZE:x NOTIFY:0 SIGNO:0 NOTIFY_PID:0'",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MqueueStatus.parse("hello"));
        assertEquals("message queue status: 'hello' in 'hello' is not NAME:value", e.getMessage());
    }
}
