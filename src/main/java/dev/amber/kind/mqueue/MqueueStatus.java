package dev.amber.kind.mqueue;

import java.util.HashMap;
import java.util.Map;

/**
 * What reading a message queue's file gives (ipc/mqueue.c, mqueue_read_file): the bytes of all
 * its messages and who is registered for notification, pids as the reader's namespace sees them.
 *
 * <pre>
 * QSIZE:24         NOTIFY:0     SIGNO:10    NOTIFY_PID:4242
 * </pre>
 *
 * {@code NOTIFY} is the registration's sigev_notify (SIGEV_SIGNAL 0, SIGEV_NONE 1, SIGEV_THREAD 2)
 * and means something only when {@code NOTIFY_PID} is not 0. The registration's sigev_value is
 * not shown anywhere.
 */
record MqueueStatus(long qsize, int sigevNotify, int signo, int notifyPid) {
    static final int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD = 2;

    static MqueueStatus parse(String text) {
        Map<String, String> f = new HashMap<>();
        for (String part : text.trim().split("\\s+")) {
            int colon = part.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("message queue status: '" + part + "' in '" + text.strip()
                        + "' is not NAME:value");
            }
            f.put(part.substring(0, colon), part.substring(colon + 1));
        }
        try {
            return new MqueueStatus(Long.parseLong(need(f, "QSIZE", text)), Integer.parseInt(need(f, "NOTIFY", text)),
                    Integer.parseInt(need(f, "SIGNO", text)), Integer.parseInt(need(f, "NOTIFY_PID", text)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("message queue status: a number is not decimal in '" + text.strip() + "'");
        }
    }

    private static String need(Map<String, String> f, String name, String text) {
        String v = f.get(name);
        if (v == null) {
            throw new IllegalArgumentException("message queue status: no " + name + " in '" + text.strip() + "'");
        }
        return v;
    }
}
