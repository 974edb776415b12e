package dev.amber.kind.inet;

import java.util.List;

/**
 * The TCP states (include/net/tcp_states.h) a connection can be saved in, and where its FINs
 * are. Repair mode takes any state but LISTEN; a FIN is not data, so the states that have one
 * are restored as ESTABLISHED and then brought where they were: our FIN by shutdown(SHUT_WR),
 * the peer's by a FIN segment made as the peer would have sent it ({@link TcpSegment}).
 */
final class TcpStates {
    static final int ESTABLISHED = 1, SYN_SENT = 2, SYN_RECV = 3, FIN_WAIT1 = 4, FIN_WAIT2 = 5, CLOSE_WAIT = 8,
            LAST_ACK = 9, CLOSING = 11;
    private static final List<String> NAMES = List.of("?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
            "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV",
            "BOUND_INACTIVE");

    private TcpStates() {}

    static String name(int state) {
        return state >= 0 && state < NAMES.size() ? NAMES.get(state) : "state " + state;
    }

    /** The states a connection is saved in: established, or half or both halves closed. */
    static boolean saved(int state) {
        return state == ESTABLISHED || ourFin(state) || peerFin(state);
    }

    /** We have shut down for writing: our FIN is queued or sent (its sequence number is in write_seq). */
    static boolean ourFin(int state) {
        return state == FIN_WAIT1 || state == FIN_WAIT2 || state == LAST_ACK || state == CLOSING;
    }

    /** Our FIN is not acknowledged yet: it is still in the send queue. */
    static boolean finUnacked(int state) {
        return state == FIN_WAIT1 || state == LAST_ACK || state == CLOSING;
    }

    /** The peer's FIN has come (its sequence number is in rcv_nxt). */
    static boolean peerFin(int state) {
        return state == CLOSE_WAIT || state == LAST_ACK || state == CLOSING;
    }
}
