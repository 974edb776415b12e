package dev.amber.kind.timer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.amber.image.proto.PosixTimer;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code /proc/PID/timers} as Linux 6.18 prints it: newest first, sorted by id on reading. */
class PosixTimersTest {
    private static final String TEXT = """
            ID: 3
            signal: 0/0000000000000000
            notify: none/pid.4242
            ClockID: 7
            ID: 2
            signal: 36/0000000000000007
            notify: signal/tid.4243
            ClockID: 0
            ID: 0
            signal: 34/0000000000005eed
            notify: signal/pid.4242
            ClockID: 1
            ID: 5
            signal: 32/00007f0000001000
            notify: thread/pid.4242
            ClockID: -6
            """;

    @Test
    void parsesEveryField() throws IOException {
        List<PosixTimer> timers = PosixTimers.parse(TEXT, "timers").stream().map(PosixTimer.Builder::build).toList();
        assertEquals(List.of(
                PosixTimer.newBuilder().setId(0).setSignal(34).setSigevValue(0x5eed).setClockid(1).build(),
                PosixTimer.newBuilder().setId(2).setSignal(36).setSigevValue(7).setNotify(4).setTid(4243).build(),
                PosixTimer.newBuilder().setId(3).setNotify(1).setClockid(7).build(),
                PosixTimer.newBuilder().setId(5).setSignal(32).setSigevValue(0x7f0000001000L).setNotify(2)
                        .setClockid(-6).build()), timers);
    }

    @Test
    void unknownNotifyIsAnError() {
        IOException e = assertThrows(IOException.class,
                () -> PosixTimers.parse("ID: 1\nnotify: carrier-pigeon/pid.1\n", "/proc/1/timers"));
        assertEquals("/proc/1/timers: timer 1: notify 'carrier-pigeon/pid.1', expected signal, none or thread",
                e.getMessage());
    }
}
