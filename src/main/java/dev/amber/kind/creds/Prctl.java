package dev.amber.kind.creds;

/** prctl(2) options and securebits ({@code linux/prctl.h}, {@code linux/securebits.h}). */
final class Prctl {
    static final int PR_CAPBSET_DROP = 24, PR_GET_SECUREBITS = 27, PR_SET_SECUREBITS = 28,
            PR_SET_NO_NEW_PRIVS = 38, PR_CAP_AMBIENT = 47, PR_CAP_AMBIENT_RAISE = 2, PR_CAP_AMBIENT_CLEAR_ALL = 4;
    static final int SECBIT_NO_SETUID_FIXUP = 1 << 2, SECBIT_KEEP_CAPS = 1 << 4;

    private Prctl() {}
}
